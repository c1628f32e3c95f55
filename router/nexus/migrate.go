package nexus

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/zabertech/go-izaber-wamp/protocol"
)

// Versions before the bbolt store kept one JSON file per user,
// DataDir/users/<name>.json, rewritten whole on every change, with each API
// key's plaintext beside its digest. openStore imports such files: each
// file in one transaction that also records the file as migrated, then the
// file is removed (so no plaintext key stays on disk). A crash in between
// leaves a file that the next start recognises as imported and removes. A
// file that cannot be read stays where it is, and its user's requests
// fail, until it is fixed or removed and the router restarted.

// legacyUser is the JSON shape of a pre-bbolt user file.
type legacyUser struct {
	Version  int                    `json:"version"`
	Login    string                 `json:"login"`
	Metadata map[string]*legacyMeta `json:"metadata"`
	APIKeys  []*legacyAPIKey        `json:"apikeys"`
	OTPs     []*otpRecord           `json:"otps"`
}

type legacyMeta struct {
	Key      string `json:"key"`
	Value    any    `json:"value"`
	UUID     string `json:"uuid"`
	Owner    string `json:"owner"`
	Created  string `json:"created"`
	Modified string `json:"modified"`
}

type legacyAPIKey struct {
	apiKeyRecord
	PlaintextKey string `json:"plaintext_key"`
}

// legacyFileName is the file name (without .json) the JSON store used for
// login: the login itself when made of safe characters, else "~" and its
// hex, or "~~" and a SHA-256 for long logins.
func legacyFileName(login string) string {
	safe := len(login) <= 100 && login != "" && login[0] != '.' && !strings.ContainsFunc(login, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-' || r == '@')
	})
	switch {
	case safe:
		return login
	case len(login) <= 100:
		return "~" + hex.EncodeToString([]byte(login))
	default:
		sum := sha256.Sum256([]byte(login))
		return "~~" + hex.EncodeToString(sum[:])
	}
}

// migrate imports dir/users/*.json.
func (s *store) migrate(dir string, log *slog.Logger) error {
	udir := filepath.Join(dir, "users")
	ents, err := os.ReadDir(udir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	sort.Slice(ents, func(i, j int) bool { return ents[i].Name() < ents[j].Name() })
	removed := false
	for _, e := range ents {
		name := e.Name()
		path := filepath.Join(udir, name)
		if strings.HasPrefix(name, ".tmp-") {
			// A half-written file of a crashed writer: it may hold
			// plaintext keys and was never the user's data.
			removed = os.Remove(path) == nil || removed
			continue
		}
		base, ok := strings.CutSuffix(name, ".json")
		if !ok || e.IsDir() {
			continue
		}
		login, err := s.importLegacy(path, base, log)
		if err != nil {
			s.broken[base] = true
			log.Error("nexus: cannot migrate user data file; its user's requests fail until it is fixed", "file", path, "error", err)
			continue
		}
		if err := os.Remove(path); err != nil {
			return err
		}
		removed = true
		log.Info("nexus: migrated user data file into "+dbFile, "file", path, "authid", login)
	}
	if removed {
		syncDir(udir)
	}
	if os.Remove(udir) == nil {
		syncDir(dir)
	}
	return nil
}

// importLegacy imports one file; base is its name without .json. It returns
// the file's login.
func (s *store) importLegacy(path, base string, log *slog.Logger) (string, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	marker := []byte("migrated/" + base)
	var done bool
	if err := s.db.View(func(tx *bolt.Tx) error {
		done = tx.Bucket(bucketMeta).Get(marker) != nil
		return nil
	}); err != nil {
		return "", err
	}
	if done {
		return base, nil // imported already: this copy is a leftover
	}
	d, err := parseLegacy(base, raw)
	if err != nil {
		return "", err
	}
	for _, k := range d.skipped {
		log.Warn("nexus: metadata key cannot be stored (empty or longer than bbolt allows); not migrated", "authid", d.login, "key_bytes", len(k))
	}
	err = s.db.Update(func(tx *bolt.Tx) error {
		ub, err := userBucket(tx, d.login)
		if err != nil {
			return err
		}
		u := &userTx{tx: tx, login: d.login, user: ub}
		for _, m := range d.meta {
			if err := u.putMeta(m.key, &m.rec, m.value); err != nil {
				return err
			}
		}
		for _, k := range d.keys {
			if u.recordOwner(k.UUID) == "" {
				if err := u.addRecord(subAPIKeys, k.UUID, k); err != nil {
					return err
				}
			}
		}
		for _, o := range d.otps {
			if u.recordOwner(o.UUID) == "" {
				if err := u.addRecord(subOTPs, o.UUID, o); err != nil {
					return err
				}
			}
		}
		return tx.Bucket(bucketMeta).Put(marker, []byte(time.Now().UTC().Format(time.RFC3339)))
	})
	return d.login, err
}

// legacyData is a parsed pre-bbolt user file, in the store's record forms.
type legacyData struct {
	login string
	meta  []struct {
		key   string
		rec   metaRecord
		value []byte // encodeValue form
	}
	keys    []*apiKeyRecord // digests only: plaintext keys are dropped
	otps    []*otpRecord
	skipped []string // metadata keys bbolt cannot hold
}

// parseLegacy reads a pre-bbolt user file named base+".json".
func parseLegacy(base string, raw []byte) (*legacyData, error) {
	var f legacyUser
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&f); err != nil {
		return nil, err
	}
	login, err := legacyLogin(base, f.Login)
	if err != nil {
		return nil, err
	}
	d := &legacyData{login: login}
	keys := make([]string, 0, len(f.Metadata))
	for k := range f.Metadata {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		m := f.Metadata[k]
		switch {
		case m == nil:
			continue
		case k == "" || len(k) > bolt.MaxKeySize:
			d.skipped = append(d.skipped, k)
			continue
		}
		v, err := encodeValue(fromJSON(m.Value))
		if err != nil {
			return nil, fmt.Errorf("metadata %.64q: %w", k, err)
		}
		d.meta = append(d.meta, struct {
			key   string
			rec   metaRecord
			value []byte
		}{k, metaRecord{UUID: m.UUID, Owner: m.Owner, Created: m.Created, Modified: m.Modified}, v})
	}
	seen := map[string]bool{}
	for _, k := range f.APIKeys {
		if k == nil || k.UUID == "" || seen[k.UUID] {
			continue
		}
		seen[k.UUID] = true
		rec := k.apiKeyRecord
		if rec.Key == "" && k.PlaintextKey != "" {
			rec.Key = keyDigest(login, k.PlaintextKey)
		}
		if rec.Permissions == nil {
			rec.Permissions = []keyPerm{}
		}
		d.keys = append(d.keys, &rec)
	}
	for _, o := range f.OTPs {
		if o == nil || o.UUID == "" || seen[o.UUID] {
			continue
		}
		seen[o.UUID] = true
		d.otps = append(d.otps, o)
	}
	return d, nil
}

// legacyLogin returns the login a legacy file belongs to: the one its name
// encodes, which must agree with the login recorded inside.
func legacyLogin(base, inside string) (string, error) {
	inside = strings.ToLower(inside)
	login := inside
	switch {
	case strings.HasPrefix(base, "~~"):
	case strings.HasPrefix(base, "~"):
		b, err := hex.DecodeString(base[1:])
		if err != nil {
			return "", fmt.Errorf("file name %q is not a login", base)
		}
		login = string(b)
	default:
		login = base
	}
	if login == "" || legacyFileName(login) != base || (inside != "" && inside != login) {
		return "", fmt.Errorf("file %q holds the data of login %q", base+".json", inside)
	}
	return login, nil
}

// syncDir makes a directory's entries (a removal, a rename) durable.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
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
		out := make(protocol.List, len(x))
		for i := range x {
			out[i] = fromJSON(x[i])
		}
		return out
	case map[string]any:
		out := make(protocol.Dict, len(x))
		for k := range x {
			out[k] = fromJSON(x[k])
		}
		return out
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
