"""REST API routers, mounted under /api by agent_ui.app."""
