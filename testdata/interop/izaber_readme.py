"""The Python izaber-wamp package's README examples, run against a router.

The connection settings come from the environment variable IZABER_YAML (as
in the package's own tests); everything else is the README's code. Prints
one JSON line per example:
  {"scenario": "...", "status": "pass"|"fail", "detail": "..."}
and exits 1 if any example failed.
"""
import json
import os
import sys
import threading
import time
import traceback

results = []


def scenario(name):
    def wrap(fn):
        try:
            detail = fn()
            results.append({"scenario": name, "status": "pass", "detail": str(detail or "")})
        except Exception as ex:  # noqa: BLE001 -- every failure is reported
            results.append({"scenario": name, "status": "fail",
                            "detail": f"{type(ex).__name__}: {ex}"[:500]})
            traceback.print_exc()
        return fn
    return wrap


def check(cond, msg):
    if not cond:
        raise AssertionError(msg)


def main():
    # README: "from izaber import initialize / from izaber_wamp import wamp / initialize()"
    from izaber import initialize, config
    from izaber_wamp import wamp

    initialize()
    username = config.wamp.connection.username
    password = config.wamp.connection.password

    @scenario("whoami (wamp.call('auth.whoami') and wamp.whoami())")
    def _():
        me = wamp.call('auth.whoami')
        check(me.get('authid') == username, f"authid {me!r}")
        check(me.get('role') == 'backend', f"role {me!r}")
        me2 = wamp.whoami()
        check(me2 == me, f"whoami() {me2!r} != {me!r}")
        return me

    @scenario("register + call with args/kwargs (example.call)")
    def _():
        def example_call(event, *args, **kwargs):
            return {'args': list(args), 'kwargs': kwargs}
        reg = wamp.register('example.call', example_call)
        # The README treats register()'s return value as the id; swampyer
        # returns the REGISTERED message, whose registration_id is the id.
        # README: results = wamp.call('example.call', 'pos1', 'pos2', keyword1='value1', keyword2='value2')
        results_ = wamp.call('example.call', 'pos1', 'pos2', keyword1='value1', keyword2='value2')
        check(results_ == {'args': ['pos1', 'pos2'], 'kwargs': {'keyword1': 'value1', 'keyword2': 'value2'}},
              f"result {results_!r}")
        wamp.unregister(reg.registration_id)
        return results_

    @scenario("register with force_reregister + prefix match (example.hello)")
    def _():
        def example_hello_fn(event):
            details = event.details
            authid = details.get('caller_authid', '<unknown>')
            authrole = details.get('caller_authrole', '<unknown>')
            uri = details.get('procedure', '<unknown>')
            return f"Hello {authid} (role: {authrole})! Called from: <{uri}>"
        registration_id = wamp.register('example.hello', example_hello_fn,
                                        {'force_reregister': True, 'match': 'prefix'})
        out = wamp.call('example.hello.this.will.also.work')
        want = f"Hello {username} (role: backend)! Called from: <com.izaber.wamp.example.hello.this.will.also.work>"
        check(out == want, f"{out!r} != {want!r}")
        wamp.unregister(registration_id.registration_id)
        return out

    @scenario("publish + subscribe (test.sub)")
    def _():
        got = []
        ev = threading.Event()

        def subscribe_event(event, *args, **kwargs):
            got.append((args, kwargs))
            ev.set()
        sub_id = wamp.subscribe('test.sub', subscribe_event)
        # A second connection publishes (a publisher does not get its own events).
        other = wamp.spawn_connection(username, password)
        try:
            hello_message = {"Hello": "World!"}
            other.publish('test.sub', args=[hello_message])
            check(ev.wait(10), "no event within 10 s")
        finally:
            other.shutdown()
        check(got[0] == (({"Hello": "World!"},), {}), f"event {got!r}")
        wamp.unsubscribe(sub_id.subscription_id)
        return got[0]

    roster_key = f"roster.example.{username}.test"

    @scenario("roster register / query / unregister")
    def _():
        eg_data = {'random': 'data'}
        result = wamp.roster_register(roster_key, eg_data)
        check(result, f"roster_register returned {result!r}")
        result2 = wamp.roster_query(roster_key)
        check(result2 == [eg_data], f"roster_query {result2!r}")
        wamp.roster_unregister(roster_key)
        result3 = wamp.roster_query(roster_key)
        check(result3 == [], f"roster_query after unregister {result3!r}")
        return f"query {result2!r}"

    @scenario("metadata set / get / list / delete")
    def _():
        key = "some.preference.key"
        eg_data = {'random': 'data'}
        wamp.metadata_set(key, eg_data)
        got = wamp.metadata_get(key)
        check(got == eg_data, f"metadata_get {got!r}")
        listing = wamp.metadata_list()
        check(key in json.dumps(listing), f"metadata_list {listing!r} lacks {key}")
        wamp.metadata_delete(key)
        return f"get {got!r}, list {listing!r}"

    @scenario("OTP: create, log in once with it, OTP session cannot mint more")
    def _():
        otp = wamp.otp_create()
        plaintext = otp['plaintext_key'] if isinstance(otp, dict) else otp
        conn = wamp.spawn_connection(username, plaintext)
        try:
            me = conn.call('auth.whoami')
            check(me.get('authid') == username, f"whoami over OTP {me!r}")
            try:
                conn.call('my.otps.create')
                raise AssertionError("OTP session created another OTP")
            except AssertionError:
                raise
            except Exception as ex:  # swampyer raises ExInvocationError
                check('not authorized' in str(ex) or 'permissiondenied' in str(ex), f"denial {ex}")
        finally:
            conn.shutdown()
        try:
            again = wamp.spawn_connection(username, plaintext)
            again.shutdown()
            raise AssertionError("OTP worked twice")
        except AssertionError:
            raise
        except Exception as ex:
            second = str(ex)
        return f"second use refused: {second[:80]}"

    @scenario("API keys: create, list, log in with key, delete")
    def _():
        rec = wamp.apikeys_create({'description': 'interop test'})
        key = rec['plaintext_key']
        listing = wamp.apikeys_list()
        check(any(k.get('uuid') == rec['uuid'] for k in listing), f"apikeys_list {listing!r}")
        conn = wamp.spawn_connection(username, key)
        try:
            me = conn.call('auth.whoami')
            check(me.get('authid') == username, f"whoami over API key {me!r}")
            try:
                conn.call('my.apikeys.create', None)
                raise AssertionError("API-key session created another key")
            except AssertionError:
                raise
            except Exception as ex:
                check('not authorized' in str(ex) or 'permissiondenied' in str(ex), f"denial {ex}")
        finally:
            conn.shutdown()
        wamp.apikeys_delete(rec['uuid'])
        left = wamp.apikeys_list()
        check(all(k.get('uuid') != rec['uuid'] for k in left), "key still listed after delete")
        return "ok"

    @scenario("bad password gives ABORT")
    def _():
        try:
            c = wamp.spawn_connection(username, password + "-wrong")
            c.shutdown()
        except Exception as ex:
            return f"{type(ex).__name__}: {ex}"[:200]
        raise AssertionError("joined with a bad password")

    wamp.shutdown()


if __name__ == '__main__':
    watchdog = threading.Timer(float(os.environ.get('INTEROP_TIMEOUT', '90')),
                               lambda: (print(json.dumps({"scenario": "main", "status": "fail", "detail": "watchdog timeout"})),
                                        sys.stdout.flush(), os._exit(1)))
    watchdog.daemon = True
    watchdog.start()
    try:
        main()
    except Exception as ex:  # noqa: BLE001
        traceback.print_exc()
        results.append({"scenario": "main", "status": "fail", "detail": f"{type(ex).__name__}: {ex}"[:500]})
    for r in results:
        print(json.dumps(r))
    sys.stdout.flush()
    os._exit(0 if all(r['status'] == 'pass' for r in results) else 1)
