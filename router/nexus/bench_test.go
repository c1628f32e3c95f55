package nexus

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkAuthorize measures one authorization decision for a frontend
// session (role rules plus cookie lookup), the work added to every call.
func BenchmarkAuthorize(b *testing.B) {
	s, err := New(Config{UsersFile: writeUsersB(b, testUsers)})
	if err != nil {
		b.Fatal(err)
	}
	id, err := s.checkTicket(context.Background(), "alice", "alice-pw")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if !s.allowed("frontend", id.AuthExtra, "call", "com.izaber.wamp.my.metadata.get") {
			b.Fatal("denied")
		}
	}
}

// BenchmarkTicketLoginAPIKey measures an API key login: one PBKDF2
// derivation (29000 rounds, Nexus-compatible) plus the lookup.
func BenchmarkTicketLoginAPIKey(b *testing.B) {
	old := keyDigestRounds
	keyDigestRounds = nexusKeyRounds
	defer func() { keyDigestRounds = old }()
	s, err := New(Config{UsersFile: writeUsersB(b, testUsers)})
	if err != nil {
		b.Fatal(err)
	}
	kv, err := s.invoke(&call{name: "my.apikeys.create", authid: "alice", role: "frontend"})
	if err != nil {
		b.Fatal(err)
	}
	key := kv.(map[string]any)["plaintext_key"].(string)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.checkTicket(context.Background(), "alice", key); err != nil {
			b.Fatal(err)
		}
	}
}

func writeUsersB(b *testing.B, content string) string {
	p := filepath.Join(b.TempDir(), "users.yaml")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		b.Fatal(err)
	}
	return p
}
