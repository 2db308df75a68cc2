"""Persistence: ORM models, engines and sessions, and the migrations that shape the schema."""
