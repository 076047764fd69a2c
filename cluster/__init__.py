"""Running more than one Hotline process: leader election and fencing of the router (leadership,
fence, fence_db)."""
