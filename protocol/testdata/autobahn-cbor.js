// Prints CBOR messages exactly as autobahn-js's CBORSerializer encodes them,
// one "name hex" line each, for protocol's TestCBORFromAutobahnJS.
// Regenerate with (from the repository root):
//   node protocol/testdata/autobahn-cbor.js > protocol/testdata/autobahn-cbor.txt
'use strict';
const path = require('path');
const modules = path.join(__dirname, '..', '..', 'testdata', 'interop', 'node_modules');
const autobahn = require(path.join(modules, 'autobahn'));

const bytes = new Uint8Array([0, 1, 2, 254, 255]);
const messages = {
	call_uint8array_arg: [48, 1, {}, 'com.x', [bytes]],
	publish_uint8array_kwarg: [16, 2, { acknowledge: true }, 'com.t', [], { blob: bytes, nested: { list: [bytes] } }],
	yield_empty_uint8array: [70, 3, {}, [new Uint8Array(0)]],
	call_buffer_arg: [48, 4, {}, 'com.x', [Buffer.from([7, 8])]],
	call_date_arg: [48, 5, {}, 'com.x', [new Date(1500000000000)]],
	call_bigint_arg: [48, 6, {}, 'com.x', [2n ** 63n, -(2n ** 63n)]],
	call_set_arg: [48, 7, {}, 'com.x', [new Set(['a', 'b'])]],
	publish_enc_payload: [16, 8, { enc_algo: 'cryptobox', enc_serializer: 'cbor' }, 'com.t', new Uint8Array([9, 9])],
	call_ppt_payload: [48, 9, { ppt_scheme: 'wamp', ppt_serializer: 'cbor' }, 'com.x', [new Uint8Array([1])]],
	call_uint16array_arg: [48, 10, {}, 'com.x', [new Uint16Array([1, 2])]],
	call_huge_bigint_arg: [48, 11, {}, 'com.x', [2n ** 70n]],
};

(async () => {
	const s = new autobahn.serializer.CBORSerializer();
	for (const [name, msg] of Object.entries(messages)) {
		const b = await s.serialize(msg);
		console.log(name + ' ' + Buffer.from(b).toString('hex'));
	}
})();
