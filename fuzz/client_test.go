package fuzz

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/zabertech/go-izaber-wamp/protocol"
	"github.com/zabertech/go-izaber-wamp/session"
)

// In FuzzHostileRouter a record's selector says what the router does:
// bit 7 set: first wait for the client's next message other than a YIELD
// or an ERROR (those answer invocations, whenever the handler is done), up
// to a second of virtual time; then send the frame. The first record's
// selector also picks the connection's serializer (sel % 3).
const waitClient = 0x80

// opTimeout bounds each client operation, in virtual time.
const opTimeout = time.Second

// FuzzHostileRouter: see the package documentation. The client's requests
// are sequential, so their request IDs are predictable: SUBSCRIBE 1,
// REGISTER 2, CALL 3, PUBLISH 4, CALL 5 (with receive_progress).
func FuzzHostileRouter(f *testing.F) {
	for _, seed := range clientSeeds() {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		synctest.Test(t, func(t *testing.T) { hostileRouter(t, data) })
	})
}

func hostileRouter(t *testing.T, data []byte) {
	recs := records(data)
	ser := protocol.JSON
	if len(recs) > 0 {
		ser = serializers[int(recs[0].sel&^waitClient)%len(serializers)]
	}
	p := newWirePeer(ser)
	fromClient := make(chan []byte, 256)
	go func() { // everything the client sends, kept for the script
		for {
			b, ok := p.pull(context.Background())
			if !ok {
				close(fromClient)
				return
			}
			select {
			case fromClient <- b:
			default: // more than the script can want
			}
		}
	}()
	scriptDone := make(chan struct{})
	go func() { // the router
		defer close(scriptDone)
		ctx := context.Background()
		for _, rec := range recs {
			if rec.sel&waitClient != 0 {
				waitRequest(ser, fromClient)
			}
			if !p.push(ctx, rec.frame) {
				return
			}
		}
	}()

	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	s, err := session.Join(ctx, p, session.Config{Realm: fuzzRealm})
	cancel()
	if err != nil {
		p.Close()
		<-scriptDone
		return
	}
	op := func(f func(ctx context.Context) error) {
		ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
		defer cancel()
		f(ctx) // any outcome is fine; returning is what counts
	}
	op(func(ctx context.Context) error {
		_, err := s.Subscribe(ctx, "com.t", func(*session.Event) {})
		return err
	})
	op(func(ctx context.Context) error {
		_, err := s.Register(ctx, "com.r", func(ctx context.Context, inv *session.Invocation) (*session.Result, error) {
			return &session.Result{Args: inv.Args, Kwargs: inv.Kwargs}, nil
		})
		return err
	})
	op(func(ctx context.Context) error {
		_, err := s.Call(ctx, "com.p", protocol.List{"x"}, nil)
		return err
	})
	op(func(ctx context.Context) error {
		return s.Publish(ctx, "com.t", protocol.List{"x"}, nil, session.Acknowledge(true))
	})
	op(func(ctx context.Context) error {
		_, err := s.Call(ctx, "com.p", nil, nil, session.ReceiveProgress(func(*session.Result) {}))
		return err
	})
	op(func(ctx context.Context) error { return s.Close(ctx) })
	select {
	case <-s.Done():
	default:
		t.Fatal("session not done after Close returned")
	}
	if s.Err() == nil {
		t.Fatal("ended session has no error")
	}
	p.Close()
	<-scriptDone
}

// waitRequest waits for the client's next message that is not a YIELD or
// an ERROR, for up to opTimeout.
func waitRequest(ser protocol.Serializer, fromClient <-chan []byte) {
	timeout := time.After(opTimeout)
	for {
		select {
		case b, ok := <-fromClient:
			if !ok {
				return
			}
			switch m, _ := ser.Unmarshal(b); m.(type) {
			case *protocol.Yield, *protocol.Error:
				continue
			}
			return
		case <-timeout:
			return
		}
	}
}

// clientSeeds are router conversations: a well-behaved one, fox-wamp's
// nulls, autobahn's CBOR tags, and violations.
func clientSeeds() [][]byte {
	var seeds [][]byte
	for i, ser := range serializers {
		sel := byte(i) | waitClient
		fr := func(m protocol.Message) []byte { return frame(ser, m) }
		welcome := fr(&protocol.Welcome{Session: 77, Details: protocol.Dict{"roles": protocol.RouterRoles()}})
		seeds = append(seeds,
			encodeRecords(
				record{sel, welcome},
				record{sel, fr(&protocol.Subscribed{Request: 1, Subscription: 7})},
				record{sel &^ waitClient, fr(&protocol.Event{Subscription: 7, Publication: 99, Details: protocol.Dict{}, Args: protocol.List{"e"}})},
				record{sel, fr(&protocol.Registered{Request: 2, Registration: 8})},
				record{sel &^ waitClient, fr(&protocol.Invocation{Request: 1, Registration: 8, Details: protocol.Dict{}, Args: protocol.List{int64(5)}})},
				record{sel, fr(&protocol.Result{Request: 3, Details: protocol.Dict{}, Args: protocol.List{int64(21)}})},
				record{sel, fr(&protocol.Published{Request: 4, Publication: 100})},
				record{sel, fr(&protocol.Result{Request: 5, Details: protocol.Dict{"progress": true}, Args: protocol.List{int64(1)}})},
				record{sel &^ waitClient, fr(&protocol.Result{Request: 5, Details: protocol.Dict{}})},
				record{sel, fr(&protocol.Goodbye{Details: protocol.Dict{}, Reason: protocol.URIGoodbyeAndOut})},
			),
			encodeRecords(
				record{sel, welcome},
				record{sel, fr(&protocol.Error{RequestType: protocol.CodeSubscribe, Request: 1, Details: protocol.Dict{}, URI: protocol.URINotAuthorized})},
				record{sel, fr(&protocol.Registered{Request: 2, Registration: 8})},
				record{sel &^ waitClient, fr(&protocol.Unregistered{Request: 0, Details: protocol.Dict{"registration": int64(8), "reason": protocol.URIUnregistered}})},
				record{sel &^ waitClient, fr(&protocol.Interrupt{Request: 42, Options: protocol.Dict{"mode": "kill"}})},
				record{sel, fr(&protocol.Result{Request: 99, Details: protocol.Dict{}})},
			),
			encodeRecords(
				record{sel, welcome},
				record{sel &^ waitClient, welcome},
			),
			encodeRecords(
				record{sel, fr(&protocol.Challenge{AuthMethod: "ticket", Extra: protocol.Dict{}})},
				record{sel, fr(&protocol.Abort{Details: protocol.Dict{"message": "no"}, Reason: protocol.URINotAuthorized})},
			),
		)
	}
	j := func(s string) []byte { return []byte(s) }
	w := byte(waitClient) // JSON, after the client's next message
	seeds = append(seeds,
		// fox-wamp: null in the payload positions.
		encodeRecords(
			record{w, j(`[2,77,{"roles":{"broker":{},"dealer":{}}}]`)},
			record{w, j(`[33,1,7]`)},
			record{0, j(`[36,7,99,{},["e"],null]`)},
			record{w, j(`[65,2,8]`)},
			record{0, j(`[68,1,8,{},[5],null]`)},
			record{w, j(`[50,3,{},[21],null]`)},
			record{w, j(`[17,4,100]`)},
		),
		// passthru in both spellings, and typed-key violations.
		encodeRecords(
			record{w, j(`[2,77,{"roles":{"broker":{},"dealer":{}}}]`)},
			record{w, j(`[33,1,7]`)},
			record{0, j(`[36,7,99,{"enc_algo":"cryptobox"},"\u0000AQI="]`)},
			record{0, j(`[36,7,100,{"ppt_scheme":"wamp"},["\u0000AQI="]]`)},
			record{0, j(`[36,7,101,{"publisher":"x"},["e"]]`)},
		),
		// CBOR: tag 64 in a RESULT.
		encodeRecords(
			record{2 | waitClient, frame(protocol.CBOR, &protocol.Welcome{Session: 77, Details: protocol.Dict{}})},
			record{2 | waitClient, []byte("\x83\x18\x21\x01\x07")},                         // SUBSCRIBED 1, 7
			record{2 | waitClient, []byte("\x83\x18\x41\x02\x08")},                         // REGISTERED 2, 8
			record{2 | waitClient, []byte("\x84\x18\x32\x03\xa0\x81\xd8\x40\x42\x01\x02")}, // RESULT 3 [tag64 h'0102']
		),
	)
	return seeds
}
