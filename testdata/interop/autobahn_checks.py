"""autobahn-python (asyncio) as a foreign WAMP peer: checks of a router.

Usage: python autobahn_checks.py URL REALM SERIALIZER

Prints one JSON line per check: {"scenario", "status": "pass"|"fail",
"detail"}. Checks use autobahn's ApplicationSession where its API covers the
feature, and otherwise a raw peer that sends hand-made messages with
autobahn's own serializers over autobahn's WebSocket client (typed-option
violations, CANCEL modes, progressive call invocations, CBOR tag 64). Every
check is bounded in time; a router that does not answer fails the check.
The router must allow anonymous sessions on REALM to do everything
(testdata/crossbar/config.json's realm izaber, or our router without an
authorizer).
"""

import asyncio
import json
import sys
import traceback
import urllib.parse

import cbor2
from autobahn.asyncio.wamp import ApplicationSession
from autobahn.asyncio.websocket import (
    WampWebSocketClientFactory,
    WebSocketClientFactory,
    WebSocketClientProtocol,
)
from autobahn.wamp import message as wmsg
from autobahn.wamp.exception import ApplicationError
from autobahn.wamp.serializer import (
    CBORObjectSerializer,
    CBORSerializer,
    JsonObjectSerializer,
    JsonSerializer,
    MsgPackObjectSerializer,
    MsgPackSerializer,
)
from autobahn.wamp.types import (
    CallOptions,
    ComponentConfig,
    PublishOptions,
    RegisterOptions,
    SubscribeOptions,
)

URL, REALM, SER = sys.argv[1], sys.argv[2], sys.argv[3]
STEP = 3.0  # seconds a router gets to answer one step
SERIALIZERS = {
    "json": (JsonSerializer, JsonObjectSerializer, False),
    "msgpack": (MsgPackSerializer, MsgPackObjectSerializer, True),
    "cbor": (CBORSerializer, CBORObjectSerializer, True),
}

HELLO_ROLES = {
    "caller": {"features": {"call_canceling": True, "progressive_call_results": True,
                            "progressive_call_invocations": True, "caller_identification": True}},
    "callee": {"features": {"call_canceling": True, "progressive_call_results": True,
                            "progressive_call_invocations": True, "caller_identification": True,
                            "pattern_based_registration": True, "shared_registration": True}},
    "publisher": {"features": {"publisher_exclusion": True, "publisher_identification": True,
                               "subscriber_blackwhite_listing": True}},
    "subscriber": {"features": {"pattern_based_subscription": True, "publisher_identification": True}},
}


class CheckFailed(Exception):
    pass


def expect(cond, what):
    if not cond:
        raise CheckFailed(what)


def host_port():
    u = urllib.parse.urlparse(URL)
    return u.hostname, u.port or 80


_uniq = [0]


def uniq(prefix):
    _uniq[0] += 1
    return "ab.%s.%s.%d" % (SER, prefix, _uniq[0])


# ---- autobahn ApplicationSession peers ----

async def session():
    """Joins REALM with autobahn's ApplicationSession; returns it."""
    loop = asyncio.get_running_loop()
    joined = loop.create_future()

    class S(ApplicationSession):
        def onJoin(self, details):
            self.welcome = details
            self.left = loop.create_future()
            if not joined.done():
                joined.set_result(self)

        def onLeave(self, details):
            if hasattr(self, "left") and not self.left.done():
                self.left.set_result(details)
            self.disconnect()

        def onDisconnect(self):
            if not joined.done():
                joined.set_exception(CheckFailed("disconnected before joining"))

    ser = SERIALIZERS[SER][0]()
    factory = WampWebSocketClientFactory(lambda: S(ComponentConfig(REALM)), url=URL, serializers=[ser])
    host, port = host_port()
    await loop.create_connection(factory, host, port)
    return await asyncio.wait_for(joined, STEP)


# ---- raw peer: hand-made messages with autobahn's serializers ----

class RawPeer:
    def __init__(self):
        self.queue = asyncio.Queue()
        self.closed = None
        self.req = 0

    async def open(self, roles=None):
        loop = asyncio.get_running_loop()
        peer = self
        opened = loop.create_future()
        obj_ser = SERIALIZERS[SER][1]()
        binary = SERIALIZERS[SER][2]
        self.obj_ser, self.binary = obj_ser, binary

        class P(WebSocketClientProtocol):
            def onOpen(self):
                opened.set_result(self)

            def onMessage(self, payload, isBinary):
                try:
                    for m in obj_ser.unserialize(payload):
                        peer.queue.put_nowait(m)
                except Exception as e:  # noqa: BLE001
                    peer.queue.put_nowait(["undecodable", str(e)])

            def onClose(self, wasClean, code, reason):
                peer.closed = (code, reason)
                peer.queue.put_nowait(["closed", code, reason])
                if not opened.done():
                    opened.set_exception(CheckFailed("closed: %s %s" % (code, reason)))

        factory = WebSocketClientFactory(URL, protocols=["wamp.2." + SER])
        factory.protocol = P
        host, port = host_port()
        await loop.create_connection(factory, host, port)
        self.proto = await asyncio.wait_for(opened, STEP)
        self.send([1, REALM, {"roles": roles or HELLO_ROLES, "authmethods": ["anonymous"]}])
        w = await self.recv()
        expect(w[0] == 2, "no WELCOME: %r" % (w,))
        self.session, self.welcome = w[1], w[2]
        return self

    def send(self, msg):
        self.proto.sendMessage(self.obj_ser.serialize(msg), self.binary)

    def send_bytes(self, data):
        self.proto.sendMessage(data, self.binary)

    async def recv(self, timeout=STEP):
        try:
            return await asyncio.wait_for(self.queue.get(), timeout)
        except asyncio.TimeoutError:
            raise CheckFailed("no answer within %.0fs" % timeout) from None

    async def recv_type(self, code, timeout=STEP):
        while True:
            m = await self.recv(timeout)
            if m[0] == code:
                return m
            if m[0] in ("closed", 3):
                raise CheckFailed("wanted message %d, got %r" % (code, m))

    def next(self):
        self.req += 1
        return self.req

    async def register(self, uri, options=None):
        r = self.next()
        self.send([64, r, options or {}, uri])
        m = await self.recv_type(65)
        return m[2]

    async def subscribe(self, uri, options=None):
        r = self.next()
        self.send([32, r, options or {}, uri])
        m = await self.recv_type(33)
        return m[2]

    def close(self):
        try:
            self.proto.sendClose()
        except Exception:  # noqa: BLE001
            pass


async def raw(roles=None):
    return await RawPeer().open(roles)


async def violation_answered(peer):
    """The router must react to a violation: ABORT, close or ERROR; not silence."""
    m = await peer.recv()
    expect(m[0] in (3, 8, "closed"), "unexpected answer %r" % (m,))
    return m


# ---- checks ----

CHECKS = []


def check(name):
    def deco(f):
        CHECKS.append((name, f))
        return f
    return deco


@check("session.join_roles")
async def _():
    # autobahn's own WELCOME parser accepted the router, and it announces
    # both router roles
    await session()
    p = await raw()
    r = p.welcome.get("roles", {})
    expect("dealer" in r and "broker" in r, "roles %r" % r)


@check("rpc.call_register")
async def _():
    callee, caller = await session(), await session()
    uri = uniq("echo")
    await callee.register(lambda *a, **kw: [list(a), kw], uri)
    res = await asyncio.wait_for(caller.call(uri, 1, "two", 3.5, k={"x": [None, True]}), STEP)
    expect(res == [[1, "two", 3.5], {"k": {"x": [None, True]}}], "echo %r" % (res,))


@check("rpc.no_such_procedure")
async def _():
    s = await session()
    try:
        await asyncio.wait_for(s.call(uniq("missing")), STEP)
        raise CheckFailed("call succeeded")
    except ApplicationError as e:
        expect(e.error == "wamp.error.no_such_procedure", e.error)


@check("rpc.procedure_already_exists")
async def _():
    a, b = await session(), await session()
    uri = uniq("dup")
    await a.register(lambda: None, uri)
    try:
        await asyncio.wait_for(b.register(lambda: None, uri), STEP)
        raise CheckFailed("second register succeeded")
    except ApplicationError as e:
        expect(e.error == "wamp.error.procedure_already_exists", e.error)


@check("rpc.application_error")
async def _():
    callee, caller = await session(), await session()
    uri = uniq("fail")

    def fail():
        raise ApplicationError("app.error.custom", 1, "x", k=2)
    await callee.register(fail, uri)
    try:
        await asyncio.wait_for(caller.call(uri), STEP)
        raise CheckFailed("call succeeded")
    except ApplicationError as e:
        expect(e.error == "app.error.custom" and list(e.args) == [1, "x"] and e.kwargs == {"k": 2}, "%s %r %r" % (e.error, e.args, e.kwargs))


@check("rpc.progressive_results")
async def _():
    callee, caller = await session(), await session()
    uri = uniq("prog")

    async def prog(n, details=None):
        for i in range(n):
            details.progress(i)
        return "done"
    await callee.register(prog, uri, options=RegisterOptions(details_arg="details"))
    got = []
    res = await asyncio.wait_for(caller.call(uri, 3, options=CallOptions(on_progress=lambda i: got.append(i))), STEP)
    expect(res == "done" and got == [0, 1, 2], "%r %r" % (res, got))


@check("rpc.caller_disclosure")
async def _():
    # autobahn-python has no disclose_me option: a raw caller asks for it
    callee, caller = await session(), await raw()
    uri = uniq("who")
    await callee.register(lambda details=None: details.caller, uri, options=RegisterOptions(details_arg="details"))
    r = caller.next()
    caller.send([48, r, {"disclose_me": True}, uri, []])
    res = await caller.recv_type(50)
    expect(res[3] == [caller.session], "caller %r, want %r" % (res, caller.session))


@check("rpc.pattern_prefix")
async def _():
    callee, caller = await session(), await session()
    base = uniq("pre")
    await callee.register(lambda details=None: details.procedure, base + ".",
                          options=RegisterOptions(match="prefix", details_arg="details"))
    res = await asyncio.wait_for(caller.call(base + ".a.b"), STEP)
    expect(res == base + ".a.b", "procedure %r" % res)


@check("rpc.pattern_wildcard")
async def _():
    callee, caller = await session(), await session()
    base = uniq("wild")
    await callee.register(lambda details=None: details.procedure, base + "..end",
                          options=RegisterOptions(match="wildcard", details_arg="details"))
    res = await asyncio.wait_for(caller.call(base + ".mid.end"), STEP)
    expect(res == base + ".mid.end", "procedure %r" % res)


@check("rpc.shared_roundrobin")
async def _():
    a, b, caller = await session(), await session(), await session()
    uri = uniq("rr")
    await a.register(lambda: "a", uri, options=RegisterOptions(invoke="roundrobin"))
    await b.register(lambda: "b", uri, options=RegisterOptions(invoke="roundrobin"))
    got = [await asyncio.wait_for(caller.call(uri), STEP) for _ in range(4)]
    expect(sorted(got) == ["a", "a", "b", "b"] and got[0] != got[1], "got %r" % got)


@check("rpc.timeout_option")
async def _():
    # Our router reads CALL.Options.timeout as ms (spec), crossbar as s:
    # 1 expires quickly either way.
    callee, caller = await session(), await session()
    uri = uniq("slow")

    async def slow():
        await asyncio.sleep(10)
    await callee.register(slow, uri)
    try:
        await asyncio.wait_for(caller.call(uri, options=CallOptions(timeout=1)), STEP)
        raise CheckFailed("call succeeded")
    except ApplicationError as e:
        expect(e.error in ("wamp.error.timeout", "wamp.error.canceled"), e.error)


async def cancel_setup():
    callee, caller = await raw(), await raw()
    uri = uniq("cancel")
    await callee.register(uri)
    r = caller.next()
    caller.send([48, r, {}, uri, []])
    inv = await callee.recv_type(68)
    return callee, caller, r, inv


@check("rpc.cancel_skip")
async def _():
    callee, caller, r, inv = await cancel_setup()
    caller.send([49, r, {"mode": "skip"}])
    e = await caller.recv_type(8)
    expect(e[2] == r and e[4] == "wamp.error.canceled", "ERROR %r" % (e,))


@check("rpc.cancel_kill")
async def _():
    # The callee answers the INTERRUPT with its own error URI; the caller
    # must get wamp.error.canceled.
    callee, caller, r, inv = await cancel_setup()
    caller.send([49, r, {"mode": "kill"}])
    it = await callee.recv_type(69)
    expect(it[1] == inv[1] and it[2].get("mode") == "kill", "INTERRUPT %r" % (it,))
    callee.send([8, 68, inv[1], {}, "wamp.error.runtime_error", ["stopped"]])
    e = await caller.recv_type(8)
    expect(e[2] == r and e[4] == "wamp.error.canceled", "ERROR %r" % (e,))


@check("rpc.cancel_killnowait")
async def _():
    callee, caller, r, inv = await cancel_setup()
    caller.send([49, r, {"mode": "killnowait"}])
    e = await caller.recv_type(8)
    expect(e[4] == "wamp.error.canceled", "ERROR %r" % (e,))
    it = await callee.recv_type(69)
    expect(it[2].get("mode") == "killnowait", "INTERRUPT %r" % (it,))


@check("rpc.progressive_invocations")
async def _():
    callee, caller = await raw(), await raw()
    expect(callee.welcome.get("roles", {}).get("dealer", {}).get("features", {}).get("progressive_call_invocations"),
           "dealer does not announce progressive_call_invocations")
    uri = uniq("stream")
    await callee.register(uri)
    r = caller.next()
    for i, more in enumerate([True, True, False]):
        caller.send([48, r, {"progress": True} if more else {}, uri, [i]])
    invs = [await callee.recv_type(68) for _ in range(3)]
    expect(len({m[1] for m in invs}) == 1, "INVOCATION ids differ: %r" % invs)
    expect([m[3].get("progress", False) for m in invs] == [True, True, False], "progress flags %r" % invs)
    expect([m[4] for m in invs] == [[0], [1], [2]], "chunks %r" % invs)
    callee.send([70, invs[0][1], {}, [3]])
    res = await caller.recv_type(50)
    expect(res[1] == r and res[3] == [3], "RESULT %r" % (res,))


@check("pubsub.publish_subscribe")
async def _():
    sub, pub = await session(), await session()
    topic = uniq("t")
    got = asyncio.get_running_loop().create_future()
    await sub.subscribe(lambda *a, **kw: got.done() or got.set_result((a, kw)), topic)
    pub.publish(topic, 1, "x", k=True)
    a, kw = await asyncio.wait_for(got, STEP)
    expect(list(a) == [1, "x"] and kw == {"k": True}, "%r %r" % (a, kw))


@check("pubsub.acknowledge")
async def _():
    pub = await session()
    p = await asyncio.wait_for(pub.publish(uniq("ack"), options=PublishOptions(acknowledge=True)), STEP)
    expect(p is not None and p.id > 0, "publication %r" % p)


async def delivered(sub_session, topic, publish, options=None, wait=0.3):
    """Subscribes, runs publish(), returns the events received within wait."""
    got = []
    await sub_session.subscribe(lambda *a, **kw: got.append((a, kw)), topic,
                                options=SubscribeOptions(details_arg="details", **(options or {})))
    await publish()
    await asyncio.sleep(wait)
    return got


@check("pubsub.exclude_me")
async def _():
    s = await session()
    topic = uniq("ex")

    async def pub():
        await s.publish(topic, "default", options=PublishOptions(acknowledge=True))
        await s.publish(topic, "me too", options=PublishOptions(acknowledge=True, exclude_me=False))
    got = await delivered(s, topic, pub)
    expect([a[0] for a, _ in got] == ["me too"], "got %r" % got)


@check("pubsub.publisher_disclosure")
async def _():
    sub, pub = await session(), await raw()
    topic = uniq("disc")

    async def p():
        pub.send([16, pub.next(), {"acknowledge": True, "disclose_me": True}, topic, []])
        await pub.recv_type(17)
    got = await delivered(sub, topic, p)
    expect(len(got) == 1 and got[0][1]["details"].publisher == pub.session, "got %r" % got)


@check("pubsub.eligible_exclude")
async def _():
    a, b, pub = await session(), await session(), await session()
    topic = uniq("bw")
    got_a, got_b = [], []
    await a.subscribe(lambda *x: got_a.append(x), topic)
    await b.subscribe(lambda *x: got_b.append(x), topic)
    await pub.publish(topic, "to a", options=PublishOptions(acknowledge=True, eligible=[a._session_id]))
    await pub.publish(topic, "not b", options=PublishOptions(acknowledge=True, exclude=[b._session_id]))
    await asyncio.sleep(0.3)
    expect(got_a == [("to a",), ("not b",)] and got_b == [], "a %r b %r" % (got_a, got_b))


@check("pubsub.pattern_prefix")
async def _():
    sub, pub = await session(), await session()
    base = uniq("ps")

    async def p():
        await pub.publish(base + ".x.y", options=PublishOptions(acknowledge=True))
    got = await delivered(sub, base + ".", p, {"match": "prefix"})
    expect(len(got) == 1 and got[0][1]["details"].topic == base + ".x.y", "got %r" % got)


@check("pubsub.pattern_wildcard")
async def _():
    sub, pub = await session(), await session()
    base = uniq("pw")

    async def p():
        await pub.publish(base + ".x.end", options=PublishOptions(acknowledge=True))
        await pub.publish(base + ".x.y.end", options=PublishOptions(acknowledge=True))
    got = await delivered(sub, base + "..end", p, {"match": "wildcard"})
    expect(len(got) == 1 and got[0][1]["details"].topic == base + ".x.end", "got %r" % got)


@check("pubsub.retained")
async def _():
    pub, sub = await session(), await session()
    topic = uniq("ret")
    await pub.publish(topic, "kept", options=PublishOptions(acknowledge=True, retain=True))

    async def nothing():
        pass
    got = await delivered(sub, topic, nothing, {"get_retained": True})
    expect(len(got) == 1 and got[0][0] == ("kept",) and got[0][1]["details"].retained, "got %r" % got)


# meta API

@check("meta.session_count_list_get")
async def _():
    s, other = await session(), await session()
    n = await asyncio.wait_for(s.call("wamp.session.count"), STEP)
    ids = await asyncio.wait_for(s.call("wamp.session.list"), STEP)
    d = await asyncio.wait_for(s.call("wamp.session.get", other._session_id), STEP)
    expect(isinstance(n, int) and n >= 2 and other._session_id in ids, "count %r list %r" % (n, ids))
    expect(d.get("session") == other._session_id, "get %r" % d)


@check("meta.session_on_join")
async def _():
    s = await session()
    got = asyncio.get_running_loop().create_future()
    await s.subscribe(lambda info: got.done() or got.set_result(info), "wamp.session.on_join")
    other = await session()
    info = await asyncio.wait_for(got, STEP)
    expect(info.get("session") == other._session_id, "on_join %r" % info)


async def registered_one():
    callee, watcher = await session(), await session()
    uri = uniq("meta")
    reg = await callee.register(lambda: None, uri, options=RegisterOptions(invoke="roundrobin"))
    return callee, watcher, uri, reg.id


@check("meta.registration_list")
async def _():
    _, w, uri, rid = await registered_one()
    l = await asyncio.wait_for(w.call("wamp.registration.list"), STEP)
    expect(rid in l.get("exact", []), "list %r" % l)


@check("meta.registration_lookup_match")
async def _():
    _, w, uri, rid = await registered_one()
    a = await asyncio.wait_for(w.call("wamp.registration.lookup", uri), STEP)
    b = await asyncio.wait_for(w.call("wamp.registration.match", uri), STEP)
    c = await asyncio.wait_for(w.call("wamp.registration.lookup", uri + ".none"), STEP)
    expect(a == rid and b == rid and c is None, "lookup %r match %r missing %r" % (a, b, c))


@check("meta.registration_get")
async def _():
    _, w, uri, rid = await registered_one()
    d = await asyncio.wait_for(w.call("wamp.registration.get", rid), STEP)
    expect(d.get("id") == rid and d.get("uri") == uri and d.get("match") == "exact" and d.get("invoke") == "roundrobin"
           and isinstance(d.get("created"), str), "get %r" % d)


@check("meta.registration_callees")
async def _():
    c, w, uri, rid = await registered_one()
    l = await asyncio.wait_for(w.call("wamp.registration.list_callees", rid), STEP)
    n = await asyncio.wait_for(w.call("wamp.registration.count_callees", rid), STEP)
    expect(l == [c._session_id] and n == 1, "callees %r count %r" % (l, n))


@check("meta.registration_events")
async def _():
    w, callee = await session(), await session()
    got = []
    for ev in ("on_create", "on_register", "on_unregister", "on_delete"):
        await w.subscribe(lambda *a, ev=ev: got.append((ev, a)), "wamp.registration." + ev)
    uri = uniq("ev")
    reg = await callee.register(lambda: None, uri)
    await reg.unregister()
    await asyncio.sleep(0.3)
    names = [g[0] for g in got]
    expect(names == ["on_create", "on_register", "on_unregister", "on_delete"], "events %r" % got)
    expect(got[1][1] == (callee._session_id, reg.id) and got[0][1][1].get("uri") == uri, "events %r" % got)


async def subscribed_one():
    sub, watcher = await session(), await session()
    topic = uniq("smeta")
    s = await sub.subscribe(lambda *a: None, topic)
    return sub, watcher, topic, s.id


@check("meta.subscription_list")
async def _():
    _, w, topic, sid = await subscribed_one()
    l = await asyncio.wait_for(w.call("wamp.subscription.list"), STEP)
    expect(sid in l.get("exact", []), "list %r" % l)


@check("meta.subscription_lookup_match")
async def _():
    _, w, topic, sid = await subscribed_one()
    a = await asyncio.wait_for(w.call("wamp.subscription.lookup", topic), STEP)
    b = await asyncio.wait_for(w.call("wamp.subscription.match", topic), STEP)
    expect(a == sid and b == [sid], "lookup %r match %r" % (a, b))


@check("meta.subscription_get")
async def _():
    _, w, topic, sid = await subscribed_one()
    d = await asyncio.wait_for(w.call("wamp.subscription.get", sid), STEP)
    expect(d.get("id") == sid and d.get("uri") == topic and d.get("match") == "exact", "get %r" % d)


@check("meta.subscription_subscribers")
async def _():
    s, w, topic, sid = await subscribed_one()
    l = await asyncio.wait_for(w.call("wamp.subscription.list_subscribers", sid), STEP)
    n = await asyncio.wait_for(w.call("wamp.subscription.count_subscribers", sid), STEP)
    expect(l == [s._session_id] and n == 1, "subscribers %r count %r" % (l, n))


@check("meta.subscription_events")
async def _():
    w, sub = await session(), await session()
    got = []
    for ev in ("on_create", "on_subscribe", "on_unsubscribe", "on_delete"):
        await w.subscribe(lambda *a, ev=ev: got.append((ev, a)), "wamp.subscription." + ev)
    s = await sub.subscribe(lambda *a: None, uniq("sev"))
    await s.unsubscribe()
    await asyncio.sleep(0.3)
    names = [g[0] for g in got]
    expect(names == ["on_create", "on_subscribe", "on_unsubscribe", "on_delete"], "events %r" % got)


@check("meta.session_kill")
async def _():
    killer, victim = await session(), await session()
    await asyncio.wait_for(killer.call("wamp.session.kill", victim._session_id, message="bye"), STEP)
    details = await asyncio.wait_for(victim.left, STEP)
    expect(details.reason == "wamp.close.killed", "victim left with %r" % (details.reason,))


@check("meta.testament")
async def _():
    w, dying = await raw(), await session()
    topic = uniq("will")
    await w.subscribe(topic)
    await asyncio.wait_for(dying.call("wamp.session.add_testament", topic, ["gone"], {}), STEP)
    dying._transport.close()  # abrupt: no GOODBYE
    ev = await w.recv_type(36)
    expect(ev[4] == ["gone"], "EVENT %r" % (ev,))


# typed options: a wrongly typed spec option is a protocol violation (the
# router aborts or at least answers), never silence

@check("types.publish_acknowledge_int")
async def _():
    p = await raw()
    p.send([16, p.next(), {"acknowledge": 1}, uniq("ty")])
    await violation_answered(p)


@check("types.call_receive_progress_string")
async def _():
    callee, p = await raw(), await raw()
    uri = uniq("ty")
    await callee.register(uri)
    p.send([48, p.next(), {"receive_progress": "yes"}, uri, []])
    m = await violation_answered(p)
    expect(m[0] != 50, "RESULT %r" % (m,))


@check("types.subscribe_match_int")
async def _():
    p = await raw()
    p.send([32, p.next(), {"match": 1}, uniq("ty")])
    await violation_answered(p)


@check("types.publish_eligible_strings")
async def _():
    p = await raw()
    p.send([16, p.next(), {"acknowledge": True, "eligible": ["a"]}, uniq("ty")])
    m = await violation_answered(p)
    expect(m[0] != 17, "PUBLISHED %r" % (m,))


@check("types.call_timeout_string")
async def _():
    callee, p = await raw(), await raw()
    uri = uniq("ty")
    await callee.register(uri)
    p.send([48, p.next(), {"timeout": "10"}, uri, []])
    await violation_answered(p)


# binary payloads

@check("binary.roundtrip")
async def _():
    callee, caller = await session(), await session()
    uri = uniq("bin")
    await callee.register(lambda b: b, uri)
    data = bytes(range(256)) * 16
    res = await asyncio.wait_for(caller.call(uri, data), STEP)
    expect(res == data, "got %r" % (res[:16] if isinstance(res, bytes) else res))


@check("binary.native_form")
async def _():
    # Binary the way each format's peers send it: CBOR tag 64 (RFC 8746
    # typed array, autobahn-js's Uint8Array), msgpack bin, JSON "\0base64".
    callee, p = await raw(), await raw()
    uri = uniq("tag")
    await callee.register(uri)
    req = p.next()
    data = b"\x00\x01\xfe\xff"
    if SER == "cbor":
        p.send_bytes(cbor2.dumps([48, req, {}, uri, [cbor2.CBORTag(64, data)]]))
    else:
        p.send([48, req, {}, uri, [data]])
    inv = await callee.recv_type(68)
    expect(inv[4] == [data], "INVOCATION args %r" % (inv[4],))
    callee.send([70, inv[1], {}, [data]])
    res = await p.recv_type(50)
    expect(res[3] == [data], "RESULT %r" % (res,))


@check("robust.null_payload")
async def _():
    # [50, id, {}, [21], null]-style nulls (fox-wamp) in the Kwargs position
    callee, p = await raw(), await raw()
    uri = uniq("null")
    await callee.register(uri)
    p.send([48, p.next(), {}, uri, [21], None])
    inv = await callee.recv_type(68)
    expect(inv[4] == [21], "INVOCATION %r" % (inv,))


async def main():
    for name, f in CHECKS:
        status, detail = "pass", ""
        try:
            await asyncio.wait_for(f(), 3 * STEP)
        except CheckFailed as e:
            status, detail = "fail", str(e)
        except ApplicationError as e:
            status, detail = "fail", "%s %r" % (e.error, e.args)
        except asyncio.TimeoutError:
            status, detail = "fail", "timed out"
        except Exception as e:  # noqa: BLE001
            status, detail = "fail", "%s: %s" % (type(e).__name__, e)
            traceback.print_exc(file=sys.stderr)
        print(json.dumps({"scenario": name, "status": status, "detail": detail[:300]}), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
