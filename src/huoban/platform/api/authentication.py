from rest_framework import authentication


class SessionAuthentication(authentication.SessionAuthentication):
    """Browser session; DRF enforces CSRF on every unsafe method for session-authenticated users."""
