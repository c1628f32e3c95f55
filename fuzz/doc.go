// Package fuzz holds the cross-layer fuzzers of izaber-wamp: whole
// conversations, not single byte parsers (those have fuzz targets in their
// own packages: protocol, transport, session, router).
//
//   - FuzzRouterSessions feeds a router interleaved message sequences from
//     three sessions at once, one per serializer, as raw frames that the
//     router decodes itself. Next to them a healthy caller, callee,
//     publisher and subscriber must keep working: after every input the
//     healthy session does a call and a publish round trip. No panic, no
//     hang (every session ends when its client goes), no goroutine left.
//   - FuzzHostileRouter runs the client (session.Join, then Call, Register,
//     Subscribe and Publish at once, then Close) against a router that
//     answers with a fuzzed script of raw frames. Time is virtual
//     (testing/synctest): every call must return, by reply or by timeout,
//     and every goroutine the session started must end.
//
// An input is a sequence of records: one selector byte, a two-byte
// big-endian length and that many bytes of frame (see records). The seed
// corpus is in testdata/fuzz/<Target>/; regenerate it with
//
//	go test ./fuzz -run TestSeedCorpus -update
//
// and run the fuzzers with make fuzz (scripts/fuzz.sh), or one of them with
//
//	go test ./fuzz -run '^$' -fuzz '^FuzzRouterSessions$' -fuzztime 5m
package fuzz
