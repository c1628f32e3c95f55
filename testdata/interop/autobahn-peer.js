// autobahn-js as a foreign peer against a WAMP router (ours, or crossbar for
// comparison). Prints one JSON line per scenario:
//   {"scenario": "...", "status": "pass"|"fail", "detail": "..."}
// and exits 1 if any scenario failed.
//
// URL is ws://..., tcp://host:port or unix:///path (RawSocket: JSON only).
// usage: node autobahn-peer.js URL [--realm R] [--serializer json|msgpack|cbor]
//          [--ticket authid:ticket] [--wampcra authid:secret] [--wampcra-salted authid:secret]
//          [--login authid:ticket] [--go-peer]   (the router also has a Go callee at interop.go.* — see conformance/interop_test.go)
'use strict';

global.WebSocket = require('ws');
const autobahn = require('autobahn');

const argv = process.argv.slice(2);
const url = argv[0];
const opt = (name, def) => {
	const i = argv.indexOf('--' + name);
	return i >= 0 ? argv[i + 1] : def;
};
const flag = (name) => argv.includes('--' + name);
const realm = opt('realm', 'izaber');
const serializerName = opt('serializer', 'json');
const prefix = 'interop.js.s' + Math.floor(Math.random() * 1e9);
const results = [];

function serializer() {
	switch (serializerName) {
		case 'json': return new autobahn.serializer.JSONSerializer();
		case 'msgpack': return new autobahn.serializer.MsgpackSerializer();
		case 'cbor': return new autobahn.serializer.CBORSerializer();
	}
	throw new Error('unknown serializer ' + serializerName);
}

// connect resolves with {session, connection, details} or rejects with the close reason.
function connect(auth) {
	return new Promise((resolve, reject) => {
		const o = { realm, max_retries: 0, retry_if_unreachable: false };
		if (url.startsWith('tcp://')) {
			// autobahn-js RawSocket (Node only) speaks JSON only.
			const hp = url.slice('tcp://'.length);
			const i = hp.lastIndexOf(':');
			o.transports = [{ type: 'rawsocket', host: hp.slice(0, i), port: Number(hp.slice(i + 1)) }];
		} else if (url.startsWith('unix://')) {
			o.transports = [{ type: 'rawsocket', path: url.slice('unix://'.length) }];
		} else {
			o.url = url;
			o.serializers = [serializer()];
		}
		if (auth) {
			o.authmethods = [auth.method];
			o.authid = auth.authid;
			o.onchallenge = (session, method, extra) => {
				if (method === 'ticket') return auth.secret;
				if (method === 'wampcra') {
					let key = auth.secret;
					if (extra.salt) key = autobahn.auth_cra.derive_key(auth.secret, extra.salt, extra.iterations, extra.keylen);
					return autobahn.auth_cra.sign(key, extra.challenge);
				}
				throw new Error('unexpected challenge ' + method);
			};
		}
		const c = new autobahn.Connection(o);
		let opened = false;
		c.onopen = (session, details) => { opened = true; resolve({ session, connection: c, details }); };
		c.onclose = (reason, details) => {
			if (!opened) reject(Object.assign(new Error('closed: ' + reason + ' ' + (details && details.message || '')), { reason, details }));
			return true; // never retry
		};
		c.open();
	});
}

function withTimeout(p, ms, what) {
	let t;
	return Promise.race([p, new Promise((_, rej) => { t = setTimeout(() => rej(new Error('timeout: ' + what)), ms); })])
		.finally(() => clearTimeout(t));
}

function assert(cond, msg) { if (!cond) throw new Error(msg); }
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function scenario(name, fn) {
	try {
		const detail = await withTimeout(fn(), 15000, name);
		results.push({ scenario: name, status: 'pass', detail: detail || '' });
	} catch (e) {
		results.push({ scenario: name, status: 'fail', detail: (e && e.message) ? String(e.message) : JSON.stringify(e) });
	}
}

function parseCred(s) {
	if (!s) return null;
	const i = s.indexOf(':');
	return { authid: s.slice(0, i), secret: s.slice(i + 1) };
}

async function main() {
	let a, b;
	// --login authid:ticket joins the working sessions with ticket auth
	// (routers whose anonymous role may not register); default anonymous.
	const login = parseCred(opt('login'));
	const mainAuth = login ? { method: 'ticket', authid: login.authid, secret: login.secret } : null;
	await scenario(login ? 'join (ticket, two sessions)' : 'join anonymous', async () => {
		a = await connect(mainAuth);
		b = await connect(mainAuth);
		assert(a.session.id > 0 && b.session.id !== a.session.id, 'bad session ids');
		return 'session ' + a.session.id + ', authrole ' + a.details.authrole;
	});
	if (!a || !b) {
		return;
	}
	const A = a.session, B = b.session;

	await scenario('register + call (args, kwargs)', async () => {
		await B.register(prefix + '.add2', (args, kwargs) =>
			new autobahn.Result([args[0] + args[1]], { echo: kwargs.echo, n: kwargs.n }));
		const r = await A.call(prefix + '.add2', [2, 3], { echo: 'hällo', n: 7 });
		assert(r.args[0] === 5, 'sum ' + JSON.stringify(r.args));
		assert(r.kwargs.echo === 'hällo' && r.kwargs.n === 7, 'kwargs ' + JSON.stringify(r.kwargs));
		// An application error travels back with its URI and args.
		await B.register(prefix + '.fail', () => { throw new autobahn.Error(prefix + '.error.bad', ['nope'], { code: 3 }); });
		try {
			await A.call(prefix + '.fail');
			throw new Error('failing call succeeded');
		} catch (e) {
			assert(e.error === prefix + '.error.bad' && e.args[0] === 'nope' && e.kwargs.code === 3, 'error ' + JSON.stringify(e));
		}
		try {
			await A.call(prefix + '.missing');
			throw new Error('call of a missing procedure succeeded');
		} catch (e) {
			assert(e.error === 'wamp.error.no_such_procedure', 'missing procedure: ' + JSON.stringify(e));
		}
	});

	await scenario('publish + subscribe (acknowledged)', async () => {
		const got = [];
		let done;
		const all = new Promise((r) => { done = r; });
		await B.subscribe(prefix + '.topic', (args, kwargs, details) => {
			got.push([args[0], kwargs.k]);
			if (got.length === 2) done();
		});
		await A.publish(prefix + '.topic', ['one'], { k: 1 }, { acknowledge: true });
		await A.publish(prefix + '.topic', ['two'], { k: 2 }, { acknowledge: true });
		await withTimeout(all, 5000, 'events');
		assert(JSON.stringify(got) === JSON.stringify([['one', 1], ['two', 2]]), 'events ' + JSON.stringify(got));
		// exclude_me=false delivers to the publisher too.
		let self;
		const selfEvent = new Promise((r) => { self = r; });
		await A.subscribe(prefix + '.topic', (args) => self(args[0]));
		await A.publish(prefix + '.topic', ['three'], {}, { acknowledge: true, exclude_me: false });
		assert(await withTimeout(selfEvent, 5000, 'own event') === 'three', 'own event');
	});

	await scenario('progressive results', async () => {
		await B.register(prefix + '.prog', async (args, kwargs, details) => {
			assert(details.progress, 'callee got no progress function');
			for (let i = 0; i < 3; i++) {
				details.progress([i]);
				await sleep(5);
			}
			return 'final';
		});
		const seen = [];
		const r = await A.call(prefix + '.prog', [], {}, { receive_progress: true })
			.then((res) => res, null, (p) => seen.push(p));
		assert(r === 'final', 'final ' + JSON.stringify(r));
		assert(JSON.stringify(seen) === '[0,1,2]', 'progress ' + JSON.stringify(seen));
	});

	await scenario('cancel (mode kill, callee without call_canceling)', async () => {
		let release;
		await B.register(prefix + '.slow', () => new Promise((r) => { release = r; }));
		const p = A.call(prefix + '.slow');
		await sleep(100);
		p.cancel({ mode: 'kill' });
		// Spec: the dealer downgrades to "skip" and answers the caller at once.
		const outcome = await Promise.race([
			p.then((r) => 'result ' + JSON.stringify(r), (e) => e),
			sleep(3000).then(() => 'no answer'),
		]);
		if (release) release('late');
		if (!(outcome && outcome.error === 'wamp.error.canceled')) {
			const late = typeof outcome === 'string' && outcome === 'no answer' ? 'no ERROR within 3 s; after releasing the callee: ' +
				await Promise.race([p.then((r) => 'result ' + JSON.stringify(r), (e) => 'error ' + (e.error || e.message)),
					sleep(2000).then(() => 'still no answer')]) : JSON.stringify(outcome);
			throw new Error('cancel: ' + late);
		}
		// The late result is discarded and the session keeps working.
		await sleep(50);
		const r = await A.call(prefix + '.add2', [1, 1]);
		// autobahn-js returns a bare value for one positional result without kwargs.
		const sum = (r && r.args) ? r.args[0] : r;
		assert(sum === 2, 'call after cancel: ' + JSON.stringify(r));
	});

	if (flag('go-peer')) {
		await scenario('call Go callee (binary-free echo)', async () => {
			const r = await A.call('interop.go.echo', ['x', 1, [true, null]], { k: 'v' });
			assert(JSON.stringify(r.args) === JSON.stringify(['x', 1, [true, null]]), 'args ' + JSON.stringify(r.args));
			assert(r.kwargs.k === 'v', 'kwargs');
		});
		await scenario('progressive results from Go callee', async () => {
			const seen = [];
			const r = await A.call('interop.go.progress', [3], {}, { receive_progress: true })
				.then((res) => res, null, (p) => seen.push(p));
			assert(r === 'done', 'final ' + JSON.stringify(r));
			assert(JSON.stringify(seen) === '[0,1,2]', 'progress ' + JSON.stringify(seen));
		});
		await scenario('cancel interrupts Go callee', async () => {
			let gotIt;
			const interrupted = new Promise((r) => { gotIt = r; });
			const tag = 'c' + Math.floor(Math.random() * 1e9);
			await A.subscribe('interop.go.interrupted', (args) => { if (args[0] === tag) gotIt(args[1]); });
			const p = A.call('interop.go.slow', [tag]);
			await sleep(200);
			p.cancel({ mode: 'kill' });
			try {
				await p;
				throw new Error('cancelled call succeeded');
			} catch (e) {
				assert(e.error === 'wamp.error.canceled', 'cancel error ' + JSON.stringify(e.error || e.message));
			}
			return 'Go callee saw: ' + await withTimeout(interrupted, 5000, 'interrupt report');
		});
	}

	const auths = [
		['ticket', 'ticket', parseCred(opt('ticket'))],
		['wampcra', 'wampcra', parseCred(opt('wampcra'))],
		['wampcra salted', 'wampcra', parseCred(opt('wampcra-salted'))],
	];
	for (const [label, method, cred] of auths) {
		if (!cred) continue;
		await scenario(label + ' auth', async () => {
			const c = await connect({ method, authid: cred.authid, secret: cred.secret });
			const d = c.details;
			c.connection.close();
			assert(d.authmethod === method && d.authid === cred.authid, 'welcome ' + JSON.stringify(d));
			return 'authrole ' + d.authrole;
		});
		await scenario(label + ' bad password', async () => {
			try {
				const c = await connect({ method, authid: cred.authid, secret: cred.secret + 'x' });
				c.connection.close();
			} catch (e) {
				const why = e.details && e.details.reason || e.reason;
				return 'refused: ' + why;
			}
			throw new Error('joined with a bad password');
		});
	}

	a.connection.close();
	b.connection.close();
}

main().catch((e) => results.push({ scenario: 'main', status: 'fail', detail: String(e) }))
	.finally(() => {
		for (const r of results) console.log(JSON.stringify(r));
		process.exit(results.some((r) => r.status !== 'pass') ? 1 : 0);
	});
