"""HTTP routes: each parses the request, calls a service function and shapes the answer."""
