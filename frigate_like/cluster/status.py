"""``frigate-like cluster status``: the nodes, heartbeats, leases and cameras, as the database has them."""

from __future__ import annotations

from collections.abc import Iterable

from frigate_like.cluster.directory import ClusterDirectory


def status_lines(directory: ClusterDirectory, cameras: Iterable[str], lease_seconds: float) -> list[str]:
    """One line per node, per lease and for the cameras no node runs; read-only."""
    now = directory.now()
    nodes = directory.nodes()
    leases = directory.leases()
    lines = [f"nodes ({len(nodes)}, lease {lease_seconds:g} s):"]
    for node in nodes:
        state = "alive" if node.alive else ("stopped" if node.stopped else "down")
        cameras_text = ", ".join(node.cameras) or "-"
        lines.append(
            f"  {node.node_id:<20} {state:<7} {node.url or '-':<28} heartbeat {node.silent_for:.1f} s ago"
            f"  cameras: {cameras_text}"
        )
    lines.append(f"leases ({len(leases)}):")
    for lease in leases:
        left = lease.expires_at - now
        when = f"expires in {left:.1f} s" if left > 0 else f"expired {-left:.1f} s ago"
        lines.append(f"  {lease.camera:<20} {lease.node_id:<20} {when}")
    running = {c for node in nodes for c in node.cameras}
    idle = sorted(set(cameras) - running)
    lines.append(f"cameras not running on any node: {', '.join(idle) if idle else 'none'}")
    return lines
