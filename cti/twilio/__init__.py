"""Twilio: Hotline's router as the ACD of a Twilio number (webhooks in, REST calls out).

See cti.twilio.link for the adapter, cti.twilio.webhooks for the HTTP side,
cti.twilio.standin for the local stand-in of the REST API used by tests.
"""
