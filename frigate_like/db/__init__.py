"""The event store: unbound peewee models, opening and migrating the database, queries."""
