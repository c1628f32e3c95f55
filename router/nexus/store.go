package nexus

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Record shapes as stored on disk (one JSON file per user) and, through
// toDict, as returned to clients.

type keyPerm struct {
	URI   string `json:"uri"`
	Perms string `json:"perms"`
	UUID  string `json:"uuid"`
}

type metaRecord struct {
	Key      string `json:"key"`
	Value    any    `json:"value"`
	UUID     string `json:"uuid"`
	Owner    string `json:"owner"`
	Created  string `json:"created"`
	Modified string `json:"modified"`
}

type apiKeyRecord struct {
	UUID         string    `json:"uuid"`
	Owner        string    `json:"owner"`
	Key          string    `json:"key"`
	PlaintextKey string    `json:"plaintext_key"`
	Description  string    `json:"description"`
	Expires      *string   `json:"expires"`
	Permissions  []keyPerm `json:"permissions"`
}

type otpRecord struct {
	UUID        string    `json:"uuid"`
	Origin      string    `json:"origin"`
	Expires     string    `json:"expires"`
	Permissions []keyPerm `json:"permissions"`
	Key         string    `json:"key"`
	Owner       string    `json:"owner"`
	Login       string    `json:"login"`
}

// userData is everything persisted for one user.
type userData struct {
	Version  int                    `json:"version"`
	Login    string                 `json:"login"`
	Metadata map[string]*metaRecord `json:"metadata"`
	APIKeys  []*apiKeyRecord        `json:"apikeys"`
	OTPs     []*otpRecord           `json:"otps"`
}

// store keeps per-user data in memory and, when dir is set, in
// dir/users/<login>.json, written atomically (temp file, fsync, rename).
//
// Ownership: mu guards users and every *userData reachable from it, and
// serializes file writes. Callers take mu around get/modify/save.
type store struct {
	dir string // "" = memory only

	mu    sync.Mutex
	users map[string]*userData
}

func newStore(dir string) (*store, error) {
	s := &store{dir: dir, users: map[string]*userData{}}
	if dir != "" {
		if err := os.MkdirAll(filepath.Join(dir, "users"), 0o700); err != nil {
			return nil, fmt.Errorf("nexus: data dir: %w", err)
		}
	}
	return s, nil
}

// errStoredData reports an unreadable user file; the file is left alone.
var errStoredData = errors.New("stored user data is unreadable")

// fileFor returns the file of login: the login itself when it is made of
// safe characters, else a hex (or, for long logins, hashed) form that cannot
// collide with a safe name.
func (s *store) fileFor(login string) string {
	safe := len(login) <= 100 && login != "" && login[0] != '.' && !strings.ContainsFunc(login, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-' || r == '@')
	})
	name := login
	switch {
	case safe:
	case len(login) <= 100:
		name = "~" + hex.EncodeToString([]byte(login))
	default:
		sum := sha256.Sum256([]byte(login))
		name = "~~" + hex.EncodeToString(sum[:])
	}
	return filepath.Join(s.dir, "users", name+".json")
}

// get returns login's data, loading it on first use. Caller holds mu.
func (s *store) get(login string) (*userData, error) {
	if d := s.users[login]; d != nil {
		return d, nil
	}
	d := &userData{Version: 1, Login: login}
	if s.dir != "" {
		b, err := os.ReadFile(s.fileFor(login))
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			return nil, fmt.Errorf("nexus: %w: %w", errStoredData, err)
		default:
			dec := json.NewDecoder(bytes.NewReader(b))
			dec.UseNumber()
			if err := dec.Decode(d); err != nil {
				return nil, fmt.Errorf("nexus: %w: %s: %w", errStoredData, s.fileFor(login), err)
			}
			for _, m := range d.Metadata {
				m.Value = fromJSON(m.Value)
			}
		}
	}
	if d.Metadata == nil {
		d.Metadata = map[string]*metaRecord{}
	}
	s.users[login] = d
	return d, nil
}

// save writes login's data. On failure the cached copy is dropped, so the
// next get sees the last state that reached the disk. Caller holds mu.
func (s *store) save(login string) error {
	d := s.users[login]
	if s.dir == "" || d == nil {
		return nil
	}
	b, err := json.MarshalIndent(d, "", "  ")
	if err == nil {
		err = writeFileAtomic(s.fileFor(login), b)
	}
	if err != nil {
		delete(s.users, login)
		return fmt.Errorf("nexus: saving data of %q: %w", login, err)
	}
	return nil
}

// writeFileAtomic replaces path with data: a reader sees the old or the new
// content, never a mix, and a crash leaves one of the two.
func writeFileAtomic(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			_ = os.Remove(tmp)
		}
	}()
	if _, err = f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err = f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp, path); err != nil {
		return err
	}
	if d, derr := os.Open(dir); derr == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// fromJSON turns values decoded with UseNumber into the payload types of
// package protocol: int64 (uint64 above MaxInt64) or float64 for numbers.
func fromJSON(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		if u, err := parseUint(x.String()); err == nil {
			return u
		}
		f, _ := x.Float64()
		return f
	case []any:
		for i := range x {
			x[i] = fromJSON(x[i])
		}
		return x
	case map[string]any:
		for k := range x {
			x[k] = fromJSON(x[k])
		}
		return x
	}
	return v
}

func parseUint(s string) (uint64, error) {
	var u uint64
	if s == "" {
		return 0, errors.New("empty")
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, errors.New("not an unsigned integer")
		}
		d := uint64(c - '0')
		if u > (^uint64(0)-d)/10 {
			return 0, errors.New("overflow")
		}
		u = u*10 + d
	}
	return u, nil
}

// isoTime formats t like Python's datetime.isoformat() with microseconds
// and a UTC offset ("2023-10-17T17:17:30.805300+00:00").
func isoTime(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000000-07:00")
}

// parseISOTime reads the timestamps clients send for expires: RFC 3339
// with or without fraction and offset, a space instead of 'T', or a bare
// date. A time without offset is UTC.
func parseISOTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{
		time.RFC3339Nano,
		"2006-01-02T15:04:05.999999999Z07:00",
		"2006-01-02T15:04:05.999999999",
		"2006-01-02 15:04:05.999999999Z07:00",
		"2006-01-02 15:04:05.999999999",
		"2006-01-02",
	} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("expires %q is not an ISO 8601 timestamp", s)
}
