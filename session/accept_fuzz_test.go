package session

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/zabertech/go-izaber-wamp/auth"
	"github.com/zabertech/go-izaber-wamp/protocol"
	"github.com/zabertech/go-izaber-wamp/transport"
)

// FuzzAcceptHandshake sends an arbitrary first message and an arbitrary
// answer to every CHALLENGE (both decoded from JSON) to Accept configured
// with every authenticator. Accept must never panic, hang or leak a
// goroutine, and must end with exactly one of: WELCOME and no error, ABORT
// and an error describing that ABORT, or no reply (the client aborted or
// went away) and an error.
func FuzzAcceptHandshake(f *testing.F) {
	f.Add([]byte(`[1, "realm1", {"roles": {}}]`), []byte(`null`))
	f.Add([]byte(`[1, "realm1", {"authid": "alice", "authmethods": ["ticket"]}]`), []byte(`[5, "tick3t-SECRET", {}]`))
	f.Add([]byte(`[1, "realm1", {"authid": "alice", "authmethods": ["ticket"]}]`), []byte(`[3, {"message": "no"}, "wamp.error.cannot_authenticate"]`))
	f.Add([]byte(`[1, "realm1", {"authid": "bob", "authmethods": ["wampcra", "anonymous"]}]`), []byte(`[5, "AAAA", {"x": [1, 2]}]`))
	f.Add([]byte(`[1, "realm1", {"authmethods": ["cryptosign"], "authextra": {"pubkey": "00"}}]`), []byte(`[48, 1, {}, "p"]`))
	f.Add([]byte(`[1, "realm1", {"authmethods": ["cryptosign"], "authextra": {"pubkey": "ea4a6c63e29c520abef5507b132ec5f9954776aebebe7b92421eea691446d22c"}}]`), []byte(`[5, "00", {}]`))
	f.Add([]byte(`[1, "r", {"authid": 7, "authmethods": "ticket", "authextra": []}]`), []byte(`null`))
	f.Add([]byte(`[48, 1, {}, "com.example.p"]`), []byte(`null`))
	f.Add([]byte(`[3, {}, "wamp.close.normal"]`), []byte(`null`))
	f.Fuzz(func(t *testing.T, helloData, replyData []byte) {
		first, err := protocol.JSON.Unmarshal(helloData)
		if err != nil {
			return
		}
		reply, err := protocol.JSON.Unmarshal(replyData)
		if err != nil {
			reply = nil // the client hangs up instead of answering
		}
		synctest.Test(t, func(t *testing.T) {
			const limit = time.Hour
			ctx, cancel := context.WithTimeout(t.Context(), limit)
			defer cancel()
			start := time.Now()
			server, client := transport.Pipe(nil)
			res := make(chan error, 1)
			go func() {
				j, err := Accept(ctx, server, AcceptConfig{Authenticators: acceptTestAuthenticators()})
				if j != nil {
					j.Peer.Close()
				}
				res <- err
			}()
			if err := client.Send(ctx, first); err != nil {
				t.Fatal(err)
			}
			var last protocol.Message
			for {
				m, err := client.Recv(ctx)
				if err != nil {
					break
				}
				last = m
				if _, ok := m.(*protocol.Challenge); ok {
					if reply == nil {
						client.Close()
						break
					}
					client.Send(ctx, reply)
				}
			}
			err := <-res
			if time.Since(start) >= limit {
				t.Fatal("the handshake ran until the context deadline")
			}
			switch last := last.(type) {
			case *protocol.Welcome:
				if err != nil {
					t.Fatalf("WELCOME sent but Accept failed: %v", err)
				}
			case *protocol.Abort:
				var d *auth.Denied
				if !errors.As(err, &d) || d.Reason != last.Reason {
					t.Fatalf("ABORT %s sent but Accept returned %v", last.Reason, err)
				}
			default:
				if err == nil {
					t.Fatalf("Accept succeeded without a WELCOME (last message %v)", last)
				}
			}
		})
	})
}
