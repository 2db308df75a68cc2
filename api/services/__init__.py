"""Service functions shared by the command line and the HTTP routes."""
