package nexus

import (
	"errors"
	"fmt"
	"math"

	"github.com/goccy/go-yaml"
	bolt "go.etcd.io/bbolt"

	"github.com/zabertech/go-izaber-wamp/protocol"
)

// The my.metadata.* services: a user's persistent key/value metadata
// (values as payload types or YAML text).

func (s *Service) metadataSet(c *call) (any, error) {
	p, err := c.params(2, "key", "value", "yaml")
	if err != nil {
		return nil, err
	}
	key, err := asString(c, p[0], "key")
	if err != nil {
		return nil, err
	}
	asYAML, err := asBool(c, p[2], "yaml")
	if err != nil {
		return nil, err
	}
	u, err := s.caller(c)
	if err != nil {
		return nil, err
	}
	q := s.quotas
	if key == "" {
		return nil, errors.New("key must not be empty")
	}
	keyLimit := q.MetadataKeyBytes
	if keyLimit < 0 {
		keyLimit = bolt.MaxKeySize // the store's own limit
	}
	if err := overQuota("metadata key", "metadata_key_bytes", len(key), keyLimit); err != nil {
		return nil, err
	}
	value := p[1]
	if asYAML {
		src, err := asString(c, value, "value")
		if err != nil {
			return nil, err
		}
		if err := overQuota("metadata value", "metadata_value_bytes", len(src), q.MetadataValueBytes); err != nil {
			return nil, err
		}
		if value, err = yamlLoad(src); err != nil {
			return nil, err
		}
	}
	if err := sizeWithin("metadata value", "metadata_value_bytes", value, q.MetadataValueBytes); err != nil {
		return nil, err
	}
	enc, err := encodeValue(value)
	if err != nil {
		return nil, err
	}
	if err := overQuota("metadata value", "metadata_value_bytes", len(enc), q.MetadataValueBytes); err != nil {
		return nil, err
	}
	var out any = value
	if asYAML {
		if out, err = yamlDump(value); err != nil {
			return nil, err
		}
	}
	_, err = s.update(u.login, func(tx *userTx) (any, error) {
		n, size := tx.metaUsage(key)
		if err := overCount("metadata keys", "metadata_keys", n, q.MetadataKeys); err != nil {
			return nil, err
		}
		if err := overQuota("all metadata values with this one", "metadata_bytes_per_user", size+len(enc), q.MetadataBytesPerUser); err != nil {
			return nil, err
		}
		now := isoTime(s.now())
		m, _, err := tx.meta(key)
		if err != nil {
			return nil, err
		}
		if m == nil {
			m = &metaRecord{UUID: newUUID(), Owner: u.uuid, Created: now}
		}
		m.Modified = now
		return nil, tx.putMeta(key, m, enc)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (s *Service) metadataGet(c *call) (any, error) {
	p, err := c.params(1, "key", "yaml")
	if err != nil {
		return nil, err
	}
	key, err := asString(c, p[0], "key")
	if err != nil {
		return nil, err
	}
	asYAML, err := asBool(c, p[1], "yaml")
	if err != nil {
		return nil, err
	}
	return s.view(c, func(_ *user, tx *userTx) (any, error) {
		m, enc, err := tx.meta(key)
		if err != nil || m == nil {
			return nil, err
		}
		v, err := decodeValue(enc)
		if err != nil {
			return nil, err
		}
		if asYAML {
			return yamlDump(v)
		}
		return v, nil
	})
}

func (s *Service) metadataList(c *call) (any, error) {
	p, err := c.params(0, "yaml")
	if err != nil {
		return nil, err
	}
	asYAML, err := asBool(c, p[0], "yaml")
	if err != nil {
		return nil, err
	}
	return s.view(c, func(_ *user, tx *userTx) (any, error) {
		out := protocol.Dict{}
		err := tx.eachMeta(func(k string, m *metaRecord, enc []byte) error {
			v, err := decodeValue(enc)
			if err != nil {
				return err
			}
			if asYAML {
				if v, err = yamlDump(v); err != nil {
					return err
				}
			}
			out[k] = protocol.Dict{"value": v, "uuid": m.UUID, "owner": m.Owner, "created": m.Created, "modified": m.Modified}
			return nil
		})
		return out, err
	})
}

func (s *Service) metadataDelete(c *call) (any, error) {
	key, err := c.stringParam("key")
	if err != nil {
		return nil, err
	}
	u, err := s.caller(c)
	if err != nil {
		return nil, err
	}
	return s.update(u.login, func(tx *userTx) (any, error) {
		_, err := tx.deleteMeta(key)
		return nil, err
	})
}

// yamlLoad parses a YAML document into payload types.
func yamlLoad(src string) (v any, err error) {
	// The YAML input comes from clients: a parser panic must not reach
	// the router.
	defer func() {
		if r := recover(); r != nil {
			v, err = nil, errors.New("value is not valid YAML")
		}
	}()
	if err := yaml.Unmarshal([]byte(src), &v); err != nil {
		var ye yaml.Error
		if errors.As(err, &ye) {
			return nil, fmt.Errorf("value is not valid YAML: %s", ye.FormatError(false, false))
		}
		return nil, errors.New("value is not valid YAML")
	}
	return normalize(v), nil
}

// yamlDump renders a value as a YAML document.
func yamlDump(v any) (string, error) {
	b, err := yaml.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("value cannot be written as YAML: %w", err)
	}
	return string(b), nil
}

// normalize converts decoded YAML values to the payload types of package
// protocol (nil, bool, int64, uint64, float64, string, []byte, List, Dict).
func normalize(v any) any {
	switch x := v.(type) {
	case nil, bool, string, int64, float64, []byte:
		return x
	case int:
		return int64(x)
	case int8:
		return int64(x)
	case int16:
		return int64(x)
	case int32:
		return int64(x)
	case uint:
		return normUint(uint64(x))
	case uint8:
		return int64(x)
	case uint16:
		return int64(x)
	case uint32:
		return int64(x)
	case uint64:
		return normUint(x)
	case float32:
		return float64(x)
	case []any:
		out := make(protocol.List, len(x))
		for i := range x {
			out[i] = normalize(x[i])
		}
		return out
	case map[string]any:
		out := make(protocol.Dict, len(x))
		for k, e := range x {
			out[k] = normalize(e)
		}
		return out
	case map[any]any:
		out := make(protocol.Dict, len(x))
		for k, e := range x {
			out[fmt.Sprint(k)] = normalize(e)
		}
		return out
	}
	return fmt.Sprint(v)
}

func normUint(u uint64) any {
	if u <= math.MaxInt64 {
		return int64(u)
	}
	return u
}
