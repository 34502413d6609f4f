"""Session policy (pure): owners, limits per principal and in all, least-recently-used idle eviction,
expiry. Times are plain numbers, so nothing sleeps."""

from labmcp.transports.sessions import SessionTable, static_principal


def _table(total: int = 4, per: int = 2, idle: float = 100.0) -> SessionTable:
    return SessionTable(total=total, per_principal=per, idle_timeout=idle)


def test_a_session_belongs_only_to_its_principal() -> None:
    table = _table()
    table.add("s1", "alice", 0.0)
    assert table.owned_by("s1", "alice")
    assert not table.owned_by("s1", "bob")
    assert not table.owned_by("unknown", "alice")


def test_static_principal_is_keyed_and_never_holds_the_token() -> None:
    one, two = static_principal(b"k1", b"secret-token"), static_principal(b"k2", b"secret-token")
    assert one != two and "secret-token" not in one
    assert static_principal(b"k1", b"secret-token") == one


def test_per_principal_limit_replaces_that_principals_least_recent_idle_session() -> None:
    table = _table(total=10, per=2)
    table.add("a1", "alice", 1.0)
    table.add("a2", "alice", 2.0)
    table.add("b1", "bob", 0.0)
    assert table.make_room("alice") == (True, ["a1"])
    table.begin("a1", 3.0)  # a1 busy now: a2 is the one to go
    assert table.make_room("alice") == (True, ["a2"])
    table.begin("a2", 4.0)
    assert table.make_room("alice") == (False, [])
    assert table.make_room("bob") == (True, [])


def test_global_limit_replaces_the_least_recent_idle_session_of_anyone() -> None:
    table = _table(total=3, per=3)
    table.add("a1", "alice", 5.0)
    table.add("b1", "bob", 1.0)
    table.add("c1", "carol", 3.0)
    assert table.make_room("dave") == (True, ["b1"])
    for sid in ("a1", "b1", "c1"):
        table.begin(sid, 6.0)
    assert table.make_room("dave") == (False, [])
    table.end("c1", 7.0)
    assert table.make_room("dave") == (True, ["c1"])


def test_filling_the_table_never_locks_out_a_newcomer_while_a_session_is_idle() -> None:
    table = _table(total=100, per=100)
    for n in range(100):
        table.add(f"s{n}", "attacker", float(n))
    for n in range(1000):  # renewing the flood: every newcomer still gets in
        admitted, victims = table.make_room(f"client{n}")
        assert admitted and len(victims) == 1
        table.remove(victims[0])
        table.add(f"new{n}", f"client{n}", 1000.0 + n)
    assert len(table) == 100


def test_idle_sessions_expire_but_busy_ones_do_not() -> None:
    table = _table(idle=10.0)
    table.add("idle", "alice", 0.0)
    table.add("busy", "alice", 0.0)
    table.begin("busy", 0.0)
    assert table.expired(9.9) == []
    assert not table.has_expired("idle", 9.9) and table.has_expired("idle", 10.0)
    assert table.expired(10.0) == ["idle"]
    table.end("busy", 15.0)
    assert table.expired(24.9) == ["idle"]
    assert sorted(table.expired(25.0)) == ["busy", "idle"]
