package nexus

import (
	"fmt"

	"github.com/zabertech/go-izaber-wamp/protocol"
)

// Quotas bound what one user can make the router keep. A zero field takes
// its default (in the field's comment); a negative one means no limit.
// Sizes are in bytes, of the value as stored: MessagePack for metadata
// values and roster data (what the client sent, re-encoded), UTF-8 for
// strings. The users file can set any of them in a quotas: section, with
// the snake_case names (metadata_value_bytes: 1048576).
//
// Under the defaults one user holds at most about 6 MiB on disk
// (metadata with its keys and records, API keys and OTPs with their
// descriptions and permissions) and 4 MiB of roster entries in memory.
//
// A request over a quota fails with ERROR
// com.izaber.wamp.error.quota_exceeded, args [message] and kwargs {quota,
// limit, size}, and stores nothing.
type Quotas struct {
	MetadataKeys         int `yaml:"metadata_keys"`           // metadata keys per user; default 1000
	MetadataKeyBytes     int `yaml:"metadata_key_bytes"`      // one metadata key; default 256
	MetadataValueBytes   int `yaml:"metadata_value_bytes"`    // one metadata value; default 65536
	MetadataBytesPerUser int `yaml:"metadata_bytes_per_user"` // all of a user's metadata values; default 1048576
	APIKeys              int `yaml:"api_keys"`                // API keys per user; default 100
	OTPs                 int `yaml:"otps"`                    // unexpired one-time passwords per user; default 100
	KeyDescriptionBytes  int `yaml:"key_description_bytes"`   // an API key's description; default 1024
	KeyPermissions       int `yaml:"key_permissions"`         // rules of an API key or OTP, inherited ones included; default 64
	RosterEntries        int `yaml:"roster_entries"`          // roster entries per user (authid), over all its sessions; default 256
	RosterDataBytes      int `yaml:"roster_data_bytes"`       // one roster entry's name and data; default 16384
}

// DefaultQuotas are the quotas of a zero Quotas field.
var DefaultQuotas = Quotas{
	MetadataKeys:         1000,
	MetadataKeyBytes:     256,
	MetadataValueBytes:   64 << 10,
	MetadataBytesPerUser: 1 << 20,
	APIKeys:              100,
	OTPs:                 100,
	KeyDescriptionBytes:  1024,
	KeyPermissions:       64,
	RosterEntries:        256,
	RosterDataBytes:      16 << 10,
}

// fields lists every quota with its users-file name, so that merging,
// defaults and error messages are written once.
func (q *Quotas) fields() []struct {
	name string
	v    *int
} {
	return []struct {
		name string
		v    *int
	}{
		{"metadata_keys", &q.MetadataKeys},
		{"metadata_key_bytes", &q.MetadataKeyBytes},
		{"metadata_value_bytes", &q.MetadataValueBytes},
		{"metadata_bytes_per_user", &q.MetadataBytesPerUser},
		{"api_keys", &q.APIKeys},
		{"otps", &q.OTPs},
		{"key_description_bytes", &q.KeyDescriptionBytes},
		{"key_permissions", &q.KeyPermissions},
		{"roster_entries", &q.RosterEntries},
		{"roster_data_bytes", &q.RosterDataBytes},
	}
}

// resolve returns q with the users file's values (over) applied and every
// remaining zero field set to its default.
func (q Quotas) resolve(over *Quotas) Quotas {
	out := q
	def := DefaultQuotas
	of, df := out.fields(), def.fields()
	var ov []struct {
		name string
		v    *int
	}
	if over != nil {
		ov = over.fields()
	}
	for i, f := range of {
		if ov != nil && *ov[i].v != 0 {
			*f.v = *ov[i].v
		}
		if *f.v == 0 {
			*f.v = *df[i].v
		}
	}
	return out
}

// ErrQuotaExceeded is the URI of a request refused because it would exceed
// a quota.
const ErrQuotaExceeded = "com.izaber.wamp.error.quota_exceeded"

// overQuota returns the quota_exceeded error when size bytes are above
// limit (a negative limit has none). what describes the value, name is
// the quota.
func overQuota(what, name string, size, limit int) error {
	return over(what, name, size, limit, "bytes")
}

// over is overQuota for any unit.
func over(what, name string, size, limit int, unit string) error {
	if limit < 0 || size <= limit {
		return nil
	}
	return &svcError{
		uri:    ErrQuotaExceeded,
		args:   protocol.List{fmt.Sprintf("%s is %d %s; the quota (%s) is %d %s", what, size, unit, name, limit, unit)},
		kwargs: protocol.Dict{"quota": name, "limit": int64(limit), "size": int64(size)},
	}
}

// overCount is overQuota for one more entry on top of n existing ones.
func overCount(what, name string, n, limit int) error {
	if limit < 0 || n < limit {
		return nil
	}
	return &svcError{
		uri:    ErrQuotaExceeded,
		args:   protocol.List{fmt.Sprintf("%s: %d already, the quota (%s) is %d", what, n, name, limit)},
		kwargs: protocol.Dict{"quota": name, "limit": int64(limit), "size": int64(n + 1)},
	}
}

// maxStoredValue caps a value whose quota is unlimited: a YAML document can
// describe a value far larger than itself (aliases share subtrees).
const maxStoredValue = 64 << 20

// sizeWithin checks a payload value against a byte quota before it is
// encoded, stopping as soon as the (slightly over-) estimated MessagePack
// size passes the limit, so that a value whose aliases would expand it
// exponentially costs at most the limit to refuse.
func sizeWithin(what, name string, v any, limit int) error {
	capped := limit
	if capped < 0 {
		capped = maxStoredValue
	}
	n := 0
	var walk func(v any) bool
	walk = func(v any) bool {
		switch x := v.(type) {
		case string:
			n += 5 + len(x)
		case []byte:
			n += 5 + len(x)
		case protocol.List:
			n += 5
			for _, e := range x {
				if !walk(e) {
					return false
				}
			}
		case protocol.Dict:
			n += 5
			for k, e := range x {
				n += 5 + len(k)
				if !walk(e) {
					return false
				}
			}
		default:
			n += 9
		}
		return n <= capped
	}
	if walk(v) {
		return nil
	}
	if limit < 0 {
		return fmt.Errorf("%s is larger than %d bytes", what, maxStoredValue)
	}
	return overQuota(what+" (at least)", name, n, limit)
}
