"""Frozen, numbered schema migrations (peewee-migrate); shipped inside the package so a wheel carries them.

The migration files never import the live models. peewee-migrate only reads files named
``NNN_name.py`` here, so this module is not taken for a migration.
"""

from pathlib import Path

MIGRATIONS_DIR = Path(__file__).resolve().parent
