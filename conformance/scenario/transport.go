package scenario

import (
	"bytes"
	"crypto/rand"
	"errors"
	"strings"

	"github.com/zabertech/go-izaber-wamp/conformance/fault"
	"github.com/zabertech/go-izaber-wamp/conformance/wire"
	"github.com/zabertech/go-izaber-wamp/protocol"
)

var (
	onlyWebSocket = []string{wire.WebSocket}
	onlyRawSocket = []string{wire.RawSocketTCP, wire.RawSocketUnix}
)

// subprotocolBreaker answers the WebSocket upgrade with pick's choice.
func subprotocolBreaker(pick func(offered []string, routers string) (string, bool)) fault.Breaker {
	return fault.Breaker{Subprotocol: func(offered []string, routers string, _ bool) (string, bool) {
		return pick(offered, routers)
	}}
}

// rawSocketReply answers RawSocket handshakes with fn's octets.
func rawSocketReply(fn func(req [4]byte, upstream func([4]byte) []byte) []byte) fault.Breaker {
	return fault.Breaker{RawSocketReply: fn}
}

// handshakeRefused requires a handshake attempt to fail: an error reply or
// a dropped connection, never an open connection or a success reply.
func handshakeRefused(t *T, o DialOptions, what string) *wire.HandshakeError {
	c, err := t.TryDial(o)
	if err == nil {
		t.Fatalf("%s was accepted (reply % x, subprotocol %q)", what, c.HandshakeOctets(), c.Subprotocol())
	}
	var he *wire.HandshakeError
	if !errors.As(err, &he) {
		t.Fatalf("%s: %v", what, err)
	}
	if r := he.Reply; len(r) == 4 && r[0] == wire.RawSocketMagic && r[1]&0x0F != 0 {
		t.Fatalf("%s was answered with the success reply % x", what, r)
	}
	return he
}

func transportScenarios() []*Scenario {
	return []*Scenario{
		{
			ID:      "transport.websocket.subprotocol",
			Title:   "A WebSocket client offering one WAMP subprotocol the router supports gets it in Sec-WebSocket-Protocol",
			Section: secWebSocket, Level: MUST, Transports: onlyWebSocket,
			Run: func(t *T) {
				want := t.cell.Serializer.Subprotocol()
				c, err := t.TryDial(DialOptions{Subprotocols: []string{want}})
				if err != nil {
					t.Fatalf("offering %s: %v", want, err)
				}
				if c.Subprotocol() != want {
					t.Fatalf("offering %s, the router picked %q", want, c.Subprotocol())
				}
			},
			Breaker: subprotocolBreaker(func([]string, string) (string, bool) { return "", true }),
		},
		{
			ID:      "transport.websocket.pick",
			Title:   "Offered an unknown subprotocol first and a supported one second, the router picks the supported one",
			Section: secWebSocket, Level: MUST, Transports: onlyWebSocket,
			Run: func(t *T) {
				want := t.cell.Serializer.Subprotocol()
				c, err := t.TryDial(DialOptions{Subprotocols: []string{"wamp.2.x_conformance_unknown", want}})
				if err != nil {
					t.Fatalf("offering wamp.2.x_conformance_unknown and %s: %v", want, err)
				}
				if c.Subprotocol() != want {
					t.Fatalf("the router picked %q, want %s", c.Subprotocol(), want)
				}
			},
			Breaker: subprotocolBreaker(func(offered []string, _ string) (string, bool) { return offered[0], true }),
		},
		{
			ID:      "transport.websocket.no-subprotocol",
			Title:   "A WebSocket upgrade offering no subprotocol is refused: WAMP MUST be negotiated",
			Section: secWebSocket, Level: MUST, Transports: onlyWebSocket,
			Run: func(t *T) {
				handshakeRefused(t, DialOptions{Subprotocols: []string{}}, "a WebSocket upgrade without subprotocols")
			},
			Breaker: subprotocolBreaker(func([]string, string) (string, bool) { return "", true }),
		},
		{
			ID:      "transport.websocket.unknown-subprotocol",
			Title:   "A WebSocket upgrade offering only an unknown subprotocol is refused",
			Section: secWebSocket, Level: MUST, Transports: onlyWebSocket,
			Run: func(t *T) {
				handshakeRefused(t, DialOptions{Subprotocols: []string{"wamp.2.x_conformance_unknown"}}, "a WebSocket upgrade offering only wamp.2.x_conformance_unknown")
			},
			Breaker: subprotocolBreaker(func(offered []string, _ string) (string, bool) { return offered[0], true }),
		},
		{
			ID:      "transport.websocket.message-kind",
			Title:   "With wamp.2.json every WebSocket message is text; with wamp.2.msgpack and wamp.2.cbor binary",
			Section: secWebSocket, Level: MUST, Transports: onlyWebSocket,
			Run: func(t *T) {
				c := t.Dial()
				hello, _ := t.hello(JoinOptions{})
				c.Send(hello)
				f, err := c.NextFrame()
				if err != nil {
					t.Fatalf("waiting for WELCOME: %s", waitError(err, t.Timeout()))
				}
				if f.Text != t.cell.Serializer.TextFrames() {
					kind := map[bool]string{true: "text", false: "binary"}
					t.Fatalf("the router sent a %s message with %s, want %s", kind[f.Text], c.Subprotocol(), kind[!f.Text])
				}
			},
			Breaker: fault.Breaker{Rule: func() fault.Rule {
				return func(_ *fault.Flow, dir fault.Dir, fr *wire.Frame) bool {
					if dir == fault.ToClient {
						fr.Text = !fr.Text
					}
					return true
				}
			}},
		},
		{
			ID:      "transport.websocket.wrong-kind",
			Title:   "A message of the wrong kind (binary with wamp.2.json, text with the binary serializers) is not processed: no WELCOME",
			Section: secWebSocket, Level: SHOULD, Transports: onlyWebSocket,
			Run: func(t *T) {
				c := t.Dial()
				hello, _ := t.hello(JoinOptions{})
				b, err := c.Serializer().Marshal(hello)
				if err != nil {
					t.Fatalf("%v", err)
				}
				if err := c.SendFrame(t.ctx, &wire.Frame{Payload: b, Text: !c.Serializer().TextFrames()}); err != nil {
					t.Fatalf("cannot send: %v", err)
				}
				f, err := c.NextFrame()
				if err != nil {
					return // the router failed the connection
				}
				if _, ok := f.Msg.(*protocol.Welcome); ok {
					t.Fatalf("a HELLO in a message of the wrong kind was answered with WELCOME")
				}
			},
			Breaker: fault.Breaker{Rule: func() fault.Rule {
				return func(f *fault.Flow, dir fault.Dir, fr *wire.Frame) bool {
					if dir == fault.ToRouter && f.Serializer() != nil {
						fr.Text = f.Serializer().TextFrames()
					}
					return true
				}
			}},
		},
		{
			ID:      "transport.websocket.oversized",
			Title:   "A WebSocket message larger than the router's limit is not processed: the router closes the connection (or aborts the session)",
			Section: secWebSocket, Level: SHOULD, Transports: onlyWebSocket, Needs: []string{"max-message-size"},
			Run: func(t *T) {
				s := t.Join(JoinOptions{})
				s.TrySend(bigCall(s, t.URI("p"), t.MaxMessageSize()+1024))
				s.ExpectClosed("a message over the router's limit must end the connection", fault.Is[*protocol.Abort])
			},
			Breaker: dropBig(),
		},
		{
			ID:      "transport.rawsocket.handshake",
			Title:   "The RawSocket handshake reply starts with 0x7F, echoes the serializer and has two zero octets",
			Section: secRawSocket, Level: MUST, Transports: onlyRawSocket,
			Run: func(t *T) {
				c := t.Dial()
				r := c.HandshakeOctets()
				if len(r) != 4 || r[0] != wire.RawSocketMagic || r[1]&0x0F != t.cell.Serializer.RawSocketID() || r[2] != 0 || r[3] != 0 {
					t.Fatalf("handshake reply % x for serializer %d", r, t.cell.Serializer.RawSocketID())
				}
			},
			Breaker: rawSocketReply(func(req [4]byte, up func([4]byte) []byte) []byte {
				r := up(req)
				if len(r) == 4 {
					r[3] = 1
				}
				return r
			}),
		},
		{
			ID:      "transport.rawsocket.serializer-unsupported",
			Title:   "A RawSocket handshake asking for a serializer the router does not speak (id 15) gets the error reply \"serializer unsupported\" (0x7F 0x10 0 0)",
			Section: secRawSocket, Level: MUST, Transports: onlyRawSocket,
			Run: func(t *T) {
				he := handshakeRefused(t, DialOptions{Handshake: []byte{0x7F, 0xFF, 0, 0}}, "serializer 15")
				if !bytes.Equal(he.Reply, wire.RawSocketErrorReply(wire.RawSocketErrSerializer)) {
					t.Fatalf("serializer 15 refused with reply % x (dropped: %v), want 7f 10 00 00", he.Reply, he.Dropped)
				}
			},
			Breaker: answerSerializer(15, []byte{0x7F, 0xFF, 0, 0}),
		},
		{
			ID:      "transport.rawsocket.serializer-zero",
			Title:   "A RawSocket handshake asking for serializer 0 (illegal) fails the connection: no success reply",
			Section: secRawSocket, Level: MUST, Transports: onlyRawSocket,
			Run: func(t *T) {
				handshakeRefused(t, DialOptions{Handshake: []byte{0x7F, 0xF0, 0, 0}}, "serializer 0")
			},
			Breaker: answerSerializer(0, []byte{0x7F, 0xF1, 0, 0}),
		},
		{
			ID:      "transport.rawsocket.bad-magic",
			Title:   "A RawSocket handshake whose first octet is not 0x7F fails the connection: no success reply",
			Section: secRawSocket, Level: MUST, Transports: onlyRawSocket,
			Run: func(t *T) {
				handshakeRefused(t, DialOptions{Handshake: []byte{0x00, 0xF0 | t.cell.Serializer.RawSocketID(), 0, 0}}, "a handshake with magic 0x00")
			},
			Breaker: rawSocketReply(func(req [4]byte, up func([4]byte) []byte) []byte {
				if req[0] != wire.RawSocketMagic {
					req[0] = wire.RawSocketMagic
				}
				return up(req)
			}),
		},
		{
			ID:      "transport.rawsocket.reserved-octets",
			Title:   "A RawSocket handshake with non-zero reserved octets is refused: no success reply",
			Section: secRawSocket, Level: MUST, Transports: onlyRawSocket,
			Run: func(t *T) {
				handshakeRefused(t, DialOptions{Handshake: []byte{0x7F, 0xF0 | t.cell.Serializer.RawSocketID(), 0, 1}}, "a handshake with reserved octets 00 01")
			},
			Breaker: clearReserved(),
		},
		{
			ID:      "transport.rawsocket.reserved-octets.code",
			Title:   "A RawSocket handshake with non-zero reserved octets gets the error reply \"use of reserved bits\" (0x7F 0x30 0 0)",
			Section: secRawSocket, Level: SHOULD, Transports: onlyRawSocket,
			Run: func(t *T) {
				he := handshakeRefused(t, DialOptions{Handshake: []byte{0x7F, 0xF0 | t.cell.Serializer.RawSocketID(), 0, 1}}, "a handshake with reserved octets 00 01")
				if he.Code != wire.RawSocketErrReservedBits {
					t.Fatalf("refused with reply % x (dropped: %v), want 7f 30 00 00", he.Reply, he.Dropped)
				}
			},
			Breaker: rawSocketReply(func(req [4]byte, up func([4]byte) []byte) []byte {
				if req[2] != 0 || req[3] != 0 {
					return wire.RawSocketErrorReply(wire.RawSocketErrMaxLength)
				}
				return up(req)
			}),
		},
		{
			ID:      "transport.rawsocket.ping",
			Title:   "A RawSocket PING is answered with exactly one PONG echoing its payload",
			Section: secRawSocket, Level: MUST, Transports: onlyRawSocket,
			Run: func(t *T) {
				s := t.Join(JoinOptions{})
				payload := make([]byte, 16)
				rand.Read(payload)
				if err := s.SendFrame(t.ctx, &wire.Frame{Type: wire.FramePing, Payload: payload}); err != nil {
					t.Fatalf("cannot send PING: %v", err)
				}
				f, err := s.NextFrame()
				if err != nil {
					t.Fatalf("waiting for PONG: %s", waitError(err, t.Timeout()))
				}
				if f.Type != wire.FramePong || !bytes.Equal(f.Payload, payload) {
					t.Fatalf("PING %x answered with %s", payload, s.Describe(f))
				}
				s.syncWith("after the PONG", nil)
			},
			Breaker: fault.Breaker{Rule: func() fault.Rule {
				return func(_ *fault.Flow, dir fault.Dir, fr *wire.Frame) bool {
					if dir == fault.ToClient && fr.Type == wire.FramePong && len(fr.Payload) > 0 {
						fr.Payload[0] ^= 0xFF
					}
					return true
				}
			}},
		},
		{
			ID:      "transport.rawsocket.client-limit",
			Title:   "The router never sends a frame larger than the client announced (here 4 KiB): a too large RESULT is not delivered",
			Section: secRawSocket, Level: MUST, Transports: onlyRawSocket,
			Run: func(t *T) {
				a, big := smallCaller(t)
				if f := a.Quiet(); f != nil {
					if f.Oversized {
						t.Fatalf("the router sent a %d-octet frame to a client that accepts 4096: %s", len(f.Payload), a.Describe(f))
					}
				}
				_ = big
				a.Sync("after a result too large for the client")
			},
			Breaker: widenLimit(),
		},
		{
			ID:      "transport.rawsocket.payload-size-exceeded",
			Title:   "A caller whose result exceeds its announced frame size gets ERROR wamp.error.payload_size_exceeded",
			Section: secBasicURIs, Level: SHOULD, Transports: onlyRawSocket,
			Run: func(t *T) {
				a, req := smallCaller(t)
				a.ExpectError(protocol.CodeCall, req, "wamp.error.payload_size_exceeded")
			},
			Breaker: rewriteError(protocol.CodeCall, "wamp.error.canceled"),
		},
		{
			ID:      "transport.rawsocket.oversized",
			Title:   "A frame larger than the limit the router announced fails the connection",
			Section: secRawSocket, Level: MUST, Transports: onlyRawSocket,
			Run: func(t *T) {
				s := t.Join(JoinOptions{})
				limit := s.PeerLimit()
				if limit >= wire.MaxRawSocketLength {
					t.Skipf("the router accepts frames up to 16 MiB, the RawSocket maximum")
				}
				s.TrySend(bigCall(s, t.URI("p"), limit+1))
				s.ExpectClosed("a frame over the router's announced limit must fail the connection", fault.Is[*protocol.Abort])
			},
			Breaker: dropBig(),
		},
	}
}

// bigCall is a CALL of at least size octets once serialized.
func bigCall(s *Session, proc string, size int) *protocol.Call {
	return &protocol.Call{Request: s.NextID(), Options: protocol.Dict{}, Procedure: proc, Args: protocol.List{strings.Repeat("x", size)}}
}

// dropBig drops client frames over 64 KiB (a router that ignores them).
func dropBig() fault.Breaker {
	return fault.Breaker{Rule: func() fault.Rule {
		return func(_ *fault.Flow, dir fault.Dir, fr *wire.Frame) bool {
			return dir != fault.ToRouter || len(fr.Payload) <= 64<<10
		}
	}}
}

// clearReserved passes handshakes with reserved octets set to the router
// with them cleared (a router that does not check them).
func clearReserved() fault.Breaker {
	return rawSocketReply(func(req [4]byte, up func([4]byte) []byte) []byte {
		req[2], req[3] = 0, 0
		return up(req)
	})
}

// widenLimit tells the router the client accepts 16 MiB whatever it
// announced (a router that ignores the client's limit).
func widenLimit() fault.Breaker {
	return rawSocketReply(func(req [4]byte, up func([4]byte) []byte) []byte {
		req[1] |= 0xF0
		return up(req)
	})
}

// smallCaller joins a caller that accepts 4 KiB frames and calls a
// procedure whose callee answers with 16 KiB; it returns the caller and the
// call's request ID.
func smallCaller(t *T) (*Session, protocol.ID) {
	b := t.Join(JoinOptions{})
	reg := b.Register(t.URI("big"), nil)
	c, err := t.TryDial(DialOptions{Serializer: t.cell.Serializer, MaxLength: 4096})
	if err != nil {
		t.Fatalf("cannot connect announcing a 4 KiB limit: %v", err)
	}
	a := c.Join(JoinOptions{Roles: BasicRoles()})
	req := a.Call(t.URI("big"), nil, nil, nil)
	inv := b.ExpectInvocation(reg)
	b.Yield(inv.Request, protocol.Dict{}, protocol.List{strings.Repeat("y", 16<<10)}, nil)
	return a, req
}

// answerSerializer answers a RawSocket handshake asking for serializer id
// with reply itself (a router that accepts or misreads it).
func answerSerializer(id byte, reply []byte) fault.Breaker {
	return rawSocketReply(func(req [4]byte, up func([4]byte) []byte) []byte {
		if req[1]&0x0F == id {
			return bytes.Clone(reply)
		}
		return up(req)
	})
}
