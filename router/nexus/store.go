package nexus

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/zabertech/go-izaber-wamp/protocol"
)

// The store keeps each user's metadata, API keys and OTPs in one bbolt
// database, DataDir/nexus.db (without DataDir: an unlinked temporary file,
// so the data lives as long as the Service). Every request that changes
// something is one bbolt transaction: it writes the pages of what changed,
// and returns only once the transaction is on disk (fsync), so an
// acknowledged write survives a crash and a crash at any moment leaves the
// previous or the new state, never a file the next start cannot read.
//
// Layout (keys are bytes):
//
//	users/<login>/metadata/<key>  JSON metaRecord (without the value)
//	users/<login>/values/<key>    the value, encoded by encodeValue
//	users/<login>/apikeys/<seq>   JSON apiKeyRecord; seq (8 bytes, big endian) keeps creation order
//	users/<login>/otps/<seq>      JSON otpRecord
//	uuids/<uuid>                  JSON uuidEntry: whose API key or OTP a uuid is
//	meta/schema                   "1"
//	meta/migrated/<file>          a pre-bbolt users/<file>.json that was imported
const dbFile = "nexus.db"

var (
	bucketUsers = []byte("users")
	bucketUUIDs = []byte("uuids")
	bucketMeta  = []byte("meta")

	subMetadata = []byte("metadata")
	subValues   = []byte("values")
	subAPIKeys  = []byte("apikeys")
	subOTPs     = []byte("otps")
	userSubs    = [][]byte{subMetadata, subValues, subAPIKeys, subOTPs}
)

// lockTimeout bounds the wait for the database's file lock: a second
// router on the same data directory fails to start instead of hanging.
const lockTimeout = 2 * time.Second

// Record shapes as stored and, through their dict methods, as returned to
// clients.

type keyPerm struct {
	URI   string `json:"uri"`
	Perms string `json:"perms"`
	UUID  string `json:"uuid"`
}

type metaRecord struct {
	UUID     string `json:"uuid"`
	Owner    string `json:"owner"`
	Created  string `json:"created"`
	Modified string `json:"modified"`
}

// apiKeyRecord is an API key as stored: its digest, never the key itself.
type apiKeyRecord struct {
	UUID        string    `json:"uuid"`
	Owner       string    `json:"owner"`
	Key         string    `json:"key"` // keyDigest(login, plaintext)
	Description string    `json:"description"`
	Expires     *string   `json:"expires"`
	Permissions []keyPerm `json:"permissions"`
	// Inherited are the permission lists of the session that created the
	// key (and of its own creator, and so on): the key allows only what
	// every list allows, so it is never broader than its creator.
	Inherited [][]keyPerm `json:"inherited,omitempty"`
}

type otpRecord struct {
	UUID        string      `json:"uuid"`
	Origin      string      `json:"origin"`
	Expires     string      `json:"expires"`
	Permissions []keyPerm   `json:"permissions"`
	Key         string      `json:"key"`
	Owner       string      `json:"owner"`
	Login       string      `json:"login"`
	Inherited   [][]keyPerm `json:"inherited,omitempty"` // as apiKeyRecord.Inherited
}

// uuidEntry says whose API key or OTP a uuid is.
type uuidEntry struct {
	Login string `json:"login"`
	Kind  string `json:"kind"` // "apikeys" or "otps"
	Seq   uint64 `json:"seq"`
}

// store is the persistent per-user data. bbolt serializes writers and lets
// readers run alongside them; store adds no lock of its own.
//
// Ownership: every field is set by openStore and never changes.
type store struct {
	db   *bolt.DB
	temp string // path of a temporary database to remove on close, or ""
	// broken holds the pre-bbolt JSON files (by name) that could not be
	// migrated: their users' requests fail, and the files stay, until
	// they are fixed and the router restarted.
	broken map[string]bool
}

// errStoredData reports a user whose stored data cannot be read.
var errStoredData = errors.New("stored user data is unreadable")

// errNotOwner reports a uuid that belongs to another user's record.
var errNotOwner = errors.New("record belongs to another user")

// storageError wraps a failure of the database itself (a disk error), as
// opposed to a refusal of the request.
type storageError struct{ err error }

func (e *storageError) Error() string { return "nexus: storage: " + e.err.Error() }
func (e *storageError) Unwrap() error { return e.err }

// openStore opens (creating it if needed) the database in dir, importing
// the JSON files of earlier versions; an empty dir opens a temporary one.
func openStore(dir string, log *slog.Logger) (*store, error) {
	s := &store{broken: map[string]bool{}}
	var path string
	if dir == "" {
		f, err := os.CreateTemp("", "izaber-nexus-*.db")
		if err != nil {
			return nil, fmt.Errorf("nexus: temporary store: %w", err)
		}
		path = f.Name()
		f.Close()
		s.temp = path
	} else {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("nexus: data dir: %w", err)
		}
		path = filepath.Join(dir, dbFile)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: lockTimeout, NoSync: dir == ""})
	if s.temp != "" && os.Remove(path) == nil {
		// Unlinked while open: nothing is left behind, even after a crash.
		s.temp = ""
	}
	if err != nil {
		if errors.Is(err, berrors.ErrTimeout) {
			return nil, fmt.Errorf("nexus: data dir %s is in use by another process (%s is locked)", dir, path)
		}
		return nil, fmt.Errorf("nexus: opening %s: %w", path, err)
	}
	s.db = db
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketUsers, bucketUUIDs, bucketMeta} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		meta := tx.Bucket(bucketMeta)
		switch v := meta.Get([]byte("schema")); {
		case v == nil:
			return meta.Put([]byte("schema"), []byte("1"))
		case string(v) != "1":
			return fmt.Errorf("%s has schema %q; this version reads schema 1", path, v)
		}
		return nil
	})
	if err == nil && dir != "" {
		err = s.migrate(dir, log)
	}
	if err != nil {
		s.close()
		return nil, fmt.Errorf("nexus: store: %w", err)
	}
	return s, nil
}

func (s *store) close() error {
	err := s.db.Close()
	if s.temp != "" {
		_ = os.Remove(s.temp)
	}
	return err
}

// userTx is one transaction on one user's data.
type userTx struct {
	tx    *bolt.Tx
	login string
	user  *bolt.Bucket // nil in a read transaction of a user without data
}

func (s *store) usable(login string) error {
	if s.broken[legacyFileName(login)] {
		return errStoredData
	}
	return nil
}

// view runs f in a read transaction on login's data.
func (s *store) view(login string, f func(u *userTx) error) error { return s.run(login, false, f) }

// update runs f in a write transaction on login's data and commits it when
// f returns nil: update returns after the change is on disk. When f fails,
// nothing is written and its error is returned as is; a failure to commit
// is a *storageError.
func (s *store) update(login string, f func(u *userTx) error) error { return s.run(login, true, f) }

func (s *store) run(login string, write bool, f func(u *userTx) error) error {
	if err := s.usable(login); err != nil {
		return err
	}
	var ferr error
	txf := func(tx *bolt.Tx) error {
		u := &userTx{tx: tx, login: login, user: tx.Bucket(bucketUsers).Bucket([]byte(login))}
		if write {
			b, err := userBucket(tx, login)
			if err != nil {
				return err
			}
			u.user = b
		}
		ferr = f(u)
		return ferr
	}
	var err error
	if write {
		err = s.db.Update(txf)
	} else {
		err = s.db.View(txf)
	}
	if ferr != nil {
		return ferr
	}
	if err != nil {
		return &storageError{err}
	}
	return nil
}

// userBucket returns login's bucket, creating it and its sub-buckets.
func userBucket(tx *bolt.Tx, login string) (*bolt.Bucket, error) {
	if login == "" {
		return nil, errors.New("empty login")
	}
	u, err := tx.Bucket(bucketUsers).CreateBucketIfNotExists([]byte(login))
	if err != nil {
		return nil, err
	}
	for _, sub := range userSubs {
		if _, err := u.CreateBucketIfNotExists(sub); err != nil {
			return nil, err
		}
	}
	return u, nil
}

func (u *userTx) sub(name []byte) *bolt.Bucket {
	if u.user == nil {
		return nil
	}
	return u.user.Bucket(name)
}

// meta returns the record and the encoded value of key, or nils.
func (u *userTx) meta(key string) (*metaRecord, []byte, error) {
	b := u.sub(subMetadata)
	if b == nil {
		return nil, nil, nil
	}
	raw := b.Get([]byte(key))
	if raw == nil {
		return nil, nil, nil
	}
	var r metaRecord
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, nil, fmt.Errorf("%w: metadata %q: %v", errStoredData, key, err)
	}
	return &r, u.sub(subValues).Get([]byte(key)), nil
}

// metaUsage returns how many metadata keys login has and the bytes of
// their values, not counting key except.
func (u *userTx) metaUsage(except string) (n, size int) {
	b := u.sub(subValues)
	if b == nil {
		return 0, 0
	}
	c := b.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if string(k) != except {
			n++
			size += len(v)
		}
	}
	return n, size
}

func (u *userTx) putMeta(key string, r *metaRecord, value []byte) error {
	raw, err := json.Marshal(r)
	if err != nil {
		return err
	}
	if err := u.user.Bucket(subMetadata).Put([]byte(key), raw); err != nil {
		return err
	}
	return u.user.Bucket(subValues).Put([]byte(key), value)
}

// deleteMeta removes key; it reports whether it was there.
func (u *userTx) deleteMeta(key string) (bool, error) {
	if u.user.Bucket(subMetadata).Get([]byte(key)) == nil {
		return false, nil
	}
	if err := u.user.Bucket(subMetadata).Delete([]byte(key)); err != nil {
		return false, err
	}
	return true, u.user.Bucket(subValues).Delete([]byte(key))
}

// eachMeta calls f for every metadata key in key order.
func (u *userTx) eachMeta(f func(key string, r *metaRecord, value []byte) error) error {
	b := u.sub(subMetadata)
	if b == nil {
		return nil
	}
	vals := u.sub(subValues)
	return b.ForEach(func(k, raw []byte) error {
		var r metaRecord
		if err := json.Unmarshal(raw, &r); err != nil {
			return fmt.Errorf("%w: metadata %q: %v", errStoredData, k, err)
		}
		return f(string(k), &r, vals.Get(k))
	})
}

// records returns login's records of one kind (subAPIKeys, subOTPs) in
// creation order.
func records[T any](u *userTx, kind []byte) ([]*T, error) {
	b := u.sub(kind)
	if b == nil {
		return nil, nil
	}
	var out []*T
	err := b.ForEach(func(_, raw []byte) error {
		r := new(T)
		if err := json.Unmarshal(raw, r); err != nil {
			return fmt.Errorf("%w: %s record: %v", errStoredData, kind, err)
		}
		out = append(out, r)
		return nil
	})
	return out, err
}

// getRecord returns login's record of kind with this uuid, or nil.
func getRecord[T any](u *userTx, kind []byte, uuid string) (*T, error) {
	b := u.sub(kind)
	if b == nil {
		return nil, nil
	}
	ent, err := u.uuidEntry(uuid)
	if err != nil || ent == nil || ent.Login != u.login || ent.Kind != string(kind) {
		return nil, err
	}
	raw := b.Get(binary.BigEndian.AppendUint64(nil, ent.Seq))
	if raw == nil {
		return nil, nil
	}
	r := new(T)
	if err := json.Unmarshal(raw, r); err != nil {
		return nil, fmt.Errorf("%w: %s record: %v", errStoredData, kind, err)
	}
	return r, nil
}

// uuidEntry returns the index entry of uuid, or nil.
func (u *userTx) uuidEntry(uuid string) (*uuidEntry, error) {
	raw := u.tx.Bucket(bucketUUIDs).Get([]byte(uuid))
	if raw == nil {
		return nil, nil
	}
	var ent uuidEntry
	if err := json.Unmarshal(raw, &ent); err != nil {
		return nil, fmt.Errorf("%w: uuid index: %v", errStoredData, err)
	}
	return &ent, nil
}

// countRecords returns how many records of kind login has.
func (u *userTx) countRecords(kind []byte) int {
	b := u.sub(kind)
	if b == nil {
		return 0
	}
	n := 0
	c := b.Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		n++
	}
	return n
}

// addRecord stores a new record of kind under uuid.
func (u *userTx) addRecord(kind []byte, uuid string, rec any) error {
	b := u.user.Bucket(kind)
	idx := u.tx.Bucket(bucketUUIDs)
	if idx.Get([]byte(uuid)) != nil {
		return fmt.Errorf("uuid %q already in use", uuid)
	}
	seq, err := b.NextSequence()
	if err != nil {
		return err
	}
	raw, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	key := binary.BigEndian.AppendUint64(nil, seq)
	if err := b.Put(key, raw); err != nil {
		return err
	}
	ent, err := json.Marshal(uuidEntry{Login: u.login, Kind: string(kind), Seq: seq})
	if err != nil {
		return err
	}
	return idx.Put([]byte(uuid), ent)
}

// deleteRecord removes login's record of kind with this uuid and reports
// whether there was one. A uuid of another user's record is errNotOwner.
func (u *userTx) deleteRecord(kind []byte, uuid string) (bool, error) {
	ent, err := u.uuidEntry(uuid)
	switch {
	case err != nil || ent == nil:
		return false, err
	case ent.Login != u.login:
		return false, errNotOwner
	case ent.Kind != string(kind):
		return false, nil
	}
	if err := u.user.Bucket(kind).Delete(binary.BigEndian.AppendUint64(nil, ent.Seq)); err != nil {
		return false, err
	}
	return true, u.tx.Bucket(bucketUUIDs).Delete([]byte(uuid))
}

// recordOwner returns the login whose API key or OTP uuid is, or "".
func (u *userTx) recordOwner(uuid string) string {
	ent, _ := u.uuidEntry(uuid)
	if ent == nil {
		return ""
	}
	return ent.Login
}

// encodeValue encodes a payload value (the types of package protocol) for
// storage, with the MessagePack serializer, so that it comes back with the
// same types: bytes stay bytes, integers stay integers.
func encodeValue(v any) ([]byte, error) {
	b, err := protocol.MsgPack.Marshal(&protocol.Event{Subscription: 1, Publication: 1, Details: protocol.Dict{}, Args: protocol.List{v}})
	if err != nil {
		return nil, fmt.Errorf("value cannot be stored: %w", err)
	}
	return b, nil
}

// decodeValue reverses encodeValue.
func decodeValue(b []byte) (any, error) {
	m, err := protocol.MsgPack.Unmarshal(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errStoredData, err)
	}
	ev, ok := m.(*protocol.Event)
	if !ok || len(ev.Args) != 1 {
		return nil, fmt.Errorf("%w: stored value is not an encoded value", errStoredData)
	}
	return ev.Args[0], nil
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
