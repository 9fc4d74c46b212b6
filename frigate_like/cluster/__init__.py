"""Several daemons as one system on one PostgreSQL database and one MQTT broker.

Placement (which node runs which camera, by leases in PostgreSQL) feeds the one camera registry;
a single node is the cluster of one and takes the same path. See docs/internals.md.
"""
