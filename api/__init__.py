"""The doors: command line, HTTP service, web pages and persistence."""
