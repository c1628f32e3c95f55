package nexus

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/goccy/go-yaml"

	"github.com/zabertech/go-izaber-wamp/protocol"
)

// Error URIs of Nexus services.
const (
	ErrPermissionDenied = "com.izaber.wamp.error.permissiondenied"
	ErrGeneric          = "com.izaber.wamp.error"
)

// svcError is an error a service returns with its own URI.
type svcError struct {
	uri  string
	args protocol.List
}

func (e *svcError) Error() string {
	if len(e.args) > 0 {
		return fmt.Sprintf("%s: %v", e.uri, e.args[0])
	}
	return e.uri
}

func permissionDenied() error {
	return &svcError{uri: ErrPermissionDenied, args: protocol.List{"Permission Denied"}}
}

// errorURI returns the Nexus URI and arguments an error from a service
// reaches the client with: its own for a svcError, otherwise
// com.izaber.wamp.error with the message, like Nexus's str(ex).
func errorURI(err error) (string, protocol.List) {
	var se *svcError
	if errors.As(err, &se) {
		return se.uri, se.args
	}
	return ErrGeneric, protocol.List{err.Error()}
}

// call is one invocation of a service.
type call struct {
	name    string
	session protocol.ID
	authid  string
	role    string
	args    protocol.List
	kwargs  protocol.Dict
}

// params checks the argument count like a Python signature and returns the
// positional or keyword value of each named parameter (nil when absent).
func (c *call) params(required int, names ...string) ([]any, error) {
	if len(c.args) > len(names) {
		return nil, fmt.Errorf("%s takes at most %d arguments (%d given)", c.name, len(names), len(c.args))
	}
	out := make([]any, len(names))
	known := map[string]bool{}
	for i, n := range names {
		known[n] = true
		if i < len(c.args) {
			if _, dup := c.kwargs[n]; dup {
				return nil, fmt.Errorf("%s got multiple values for argument '%s'", c.name, n)
			}
			out[i] = c.args[i]
			continue
		}
		v, ok := c.kwargs[n]
		if !ok && i < required {
			return nil, fmt.Errorf("%s missing required argument '%s'", c.name, n)
		}
		out[i] = v
	}
	for k := range c.kwargs {
		if !known[k] {
			return nil, fmt.Errorf("%s got an unexpected keyword argument '%s'", c.name, k)
		}
	}
	return out, nil
}

// stringParam reads the one argument of a call that takes only name, a
// required string.
func (c *call) stringParam(name string) (string, error) {
	p, err := c.params(1, name)
	if err != nil {
		return "", err
	}
	return asString(c, p[0], name)
}

func asString(c *call, v any, name string) (string, error) {
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("%s: %s must be a string", c.name, name)
	}
	return s, nil
}

func asBool(c *call, v any, name string) (bool, error) {
	switch x := v.(type) {
	case nil:
		return false, nil
	case bool:
		return x, nil
	}
	return false, fmt.Errorf("%s: %s must be a boolean", c.name, name)
}

type handlerFunc func(s *Service, c *call) (any, error)

// services lists every service with its handler, in the order Install
// registers them (each bare and prefixed). The OTP services answer under
// my.otp.* and my.otps.* alike.
var services = []struct {
	name    string
	handler handlerFunc
}{
	{"auth.whoami", (*Service).whoami},
	{"system.roster.register", (*Service).rosterRegister},
	{"system.roster.unregister", (*Service).rosterUnregister},
	{"system.roster.query", (*Service).rosterQuery},
	{"my.metadata.set", (*Service).metadataSet},
	{"my.metadata.get", (*Service).metadataGet},
	{"my.metadata.list", (*Service).metadataList},
	{"my.metadata.delete", (*Service).metadataDelete},
	{"my.apikeys.create", (*Service).apikeysCreate},
	{"my.apikeys.list", (*Service).apikeysList},
	{"my.apikeys.delete", (*Service).apikeysDelete},
	{"my.otp.create", (*Service).otpCreate},
	{"my.otp.list", (*Service).otpList},
	{"my.otp.delete", (*Service).otpDelete},
	{"my.otps.create", (*Service).otpCreate},
	{"my.otps.list", (*Service).otpList},
	{"my.otps.delete", (*Service).otpDelete},
}

// handlers maps each bare service name to its handler.
var handlers = func() map[string]handlerFunc {
	m := make(map[string]handlerFunc, len(services))
	for _, svc := range services {
		m[svc.name] = svc.handler
	}
	return m
}()

// invoke runs a service by name (bare or prefixed).
func (s *Service) invoke(c *call) (any, error) {
	h := handlers[strings.TrimPrefix(c.name, prefix)]
	if h == nil {
		return nil, fmt.Errorf("unknown service %q", c.name)
	}
	return h(s, c)
}

func (s *Service) whoami(c *call) (any, error) {
	if _, err := c.params(0); err != nil {
		return nil, err
	}
	return protocol.Dict{"authid": c.authid, "role": c.role}, nil
}

// rosterAllowed reports whether c's role grants want on the roster name.
func (s *Service) rosterAllowed(c *call, name string, want perms) bool {
	return bypassRole(c.role) || s.db.roles[c.role].allows(name, want)
}

func (s *Service) rosterRegister(c *call) (any, error) {
	p, err := c.params(2, "roster_name", "data", "visibility")
	if err != nil {
		return nil, err
	}
	name, err := asString(c, p[0], "roster_name")
	if err != nil {
		return nil, err
	}
	vis, err := normVisibility(p[2])
	if err != nil {
		return nil, err
	}
	if !s.rosterAllowed(c, name, permRosterOps) {
		return nil, permissionDenied()
	}
	owner := c.authid
	if u := s.lookupUser(c.authid); u != nil {
		owner = u.uuid
	}
	return s.roster.register(c.session, owner, name, p[1], vis, s.now())
}

// rosterParam reads the roster_name argument of a call that takes only it
// and checks that c's role grants want on that roster.
func (s *Service) rosterParam(c *call, want perms) (string, error) {
	name, err := c.stringParam("roster_name")
	if err != nil {
		return "", err
	}
	if !s.rosterAllowed(c, name, want) {
		return "", permissionDenied()
	}
	return name, nil
}

func (s *Service) rosterUnregister(c *call) (any, error) {
	name, err := s.rosterParam(c, permRosterOps)
	if err != nil {
		return nil, err
	}
	s.roster.unregister(c.session, name)
	return true, nil
}

func (s *Service) rosterQuery(c *call) (any, error) {
	name, err := s.rosterParam(c, permRosterQuery)
	if err != nil {
		return nil, err
	}
	return s.roster.query(name, c.role), nil
}

// withUser runs f on the caller's stored data under the store lock and
// saves it when f reports a change.
func (s *Service) withUser(c *call, f func(u *user, d *userData) (result any, changed bool, err error)) (any, error) {
	u := s.lookupUser(c.authid)
	if u == nil {
		return nil, errors.New("Unknown user")
	}
	s.store.mu.Lock()
	defer s.store.mu.Unlock()
	d, err := s.store.get(u.login)
	if err != nil {
		s.log.Error("user data unreadable", "authid", u.login, "error", err)
		return nil, errStoredData
	}
	res, changed, err := f(u, d)
	if err != nil {
		return nil, err
	}
	if changed {
		if err := s.store.save(u.login); err != nil {
			s.log.Error("cannot save user data", "authid", u.login, "error", err)
			return nil, errors.New("cannot save user data")
		}
	}
	return res, nil
}

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
	value := p[1]
	if asYAML {
		src, err := asString(c, value, "value")
		if err != nil {
			return nil, err
		}
		if value, err = yamlLoad(src); err != nil {
			return nil, err
		}
	}
	return s.withUser(c, func(u *user, d *userData) (any, bool, error) {
		now := isoTime(s.now())
		m := d.Metadata[key]
		if m == nil {
			if len(d.Metadata) >= maxMetadata {
				return nil, false, fmt.Errorf("too many metadata keys (limit %d)", maxMetadata)
			}
			m = &metaRecord{Key: key, UUID: newUUID(), Owner: u.uuid, Created: now}
			d.Metadata[key] = m
		}
		m.Value, m.Modified = value, now
		if asYAML {
			out, err := yamlDump(value)
			return out, true, err
		}
		return value, true, nil
	})
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
	return s.withUser(c, func(_ *user, d *userData) (any, bool, error) {
		m := d.Metadata[key]
		if m == nil {
			return nil, false, nil
		}
		if asYAML {
			out, err := yamlDump(m.Value)
			return out, false, err
		}
		return m.Value, false, nil
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
	return s.withUser(c, func(_ *user, d *userData) (any, bool, error) {
		out := protocol.Dict{}
		for k, m := range d.Metadata {
			var v any = m.Value
			if asYAML {
				y, err := yamlDump(m.Value)
				if err != nil {
					return nil, false, err
				}
				v = y
			}
			out[k] = protocol.Dict{"value": v, "uuid": m.UUID, "owner": m.Owner, "created": m.Created, "modified": m.Modified}
		}
		return out, false, nil
	})
}

func (s *Service) metadataDelete(c *call) (any, error) {
	key, err := c.stringParam("key")
	if err != nil {
		return nil, err
	}
	return s.withUser(c, func(_ *user, d *userData) (any, bool, error) {
		if _, ok := d.Metadata[key]; !ok {
			return nil, false, nil
		}
		delete(d.Metadata, key)
		return nil, true, nil
	})
}

// parseKeyPerms reads the permissions list of an API key or OTP request.
func parseKeyPerms(v any) ([]keyPerm, error) {
	if v == nil {
		return nil, nil
	}
	l, ok := v.(protocol.List)
	if !ok {
		return nil, errors.New("permissions must be a list of {uri, perms}")
	}
	out := make([]keyPerm, 0, len(l))
	pairs := make([][2]string, 0, len(l))
	for i, x := range l {
		d, ok := x.(protocol.Dict)
		if !ok {
			return nil, fmt.Errorf("permissions[%d] must be a dict with uri and perms", i)
		}
		uri, ok1 := d["uri"].(string)
		ps, ok2 := d["perms"].(string)
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("permissions[%d] needs string uri and perms", i)
		}
		for k := range d {
			if k != "uri" && k != "perms" && k != "uuid" {
				return nil, fmt.Errorf("permissions[%d]: unknown field %q", i, k)
			}
		}
		out = append(out, keyPerm{URI: uri, Perms: ps, UUID: newUUID()})
		pairs = append(pairs, [2]string{uri, ps})
	}
	if _, err := newRuleSet(pairs); err != nil {
		return nil, fmt.Errorf("permissions: %w", err)
	}
	return out, nil
}

func permsList(ps []keyPerm) protocol.List {
	out := make(protocol.List, 0, len(ps))
	for _, p := range ps {
		out = append(out, protocol.Dict{"uri": p.URI, "perms": p.Perms, "uuid": p.UUID})
	}
	return out
}

func (k *apiKeyRecord) dict() protocol.Dict {
	var exp any
	if k.Expires != nil {
		exp = *k.Expires
	}
	return protocol.Dict{
		"uuid": k.UUID, "owner": k.Owner, "key": k.Key, "plaintext_key": k.PlaintextKey,
		"description": k.Description, "expires": exp, "permissions": permsList(k.Permissions),
	}
}

// recordKind describes one kind of per-user key record (API keys, OTPs)
// for the list and delete services the kinds share.
type recordKind[T any] struct {
	records func(d *userData) *[]T             // the user's records of this kind
	uuid    func(r T) string                   // a record's UUID, what delete matches
	dict    func(r T) protocol.Dict            // a record as list returns it
	prune   func(s *Service, d *userData) bool // drops expired records, reports whether any went; nil: none expire
}

var (
	apiKeyKind = recordKind[*apiKeyRecord]{
		records: func(d *userData) *[]*apiKeyRecord { return &d.APIKeys },
		uuid:    func(k *apiKeyRecord) string { return k.UUID },
		dict:    (*apiKeyRecord).dict,
	}
	otpKind = recordKind[*otpRecord]{
		records: func(d *userData) *[]*otpRecord { return &d.OTPs },
		uuid:    func(o *otpRecord) string { return o.UUID },
		dict:    func(o *otpRecord) protocol.Dict { return o.dict(nil) },
		prune:   (*Service).pruneOTPs,
	}
)

// listRecords is the list service of a record kind: the caller's records
// as dicts, once expired ones are pruned (and the pruning saved).
func listRecords[T any](s *Service, c *call, kind recordKind[T]) (any, error) {
	if _, err := c.params(0); err != nil {
		return nil, err
	}
	return s.withUser(c, func(_ *user, d *userData) (any, bool, error) {
		changed := kind.prune != nil && kind.prune(s, d)
		recs := *kind.records(d)
		out := make(protocol.List, 0, len(recs))
		for _, r := range recs {
			out = append(out, kind.dict(r))
		}
		return out, changed, nil
	})
}

// deleteRecord is the delete service of a record kind: it removes the
// caller's record whose UUID is the uuid_b64 argument and returns true,
// whether or not there was one.
func deleteRecord[T any](s *Service, c *call, kind recordKind[T]) (any, error) {
	id, err := c.stringParam("uuid_b64")
	if err != nil {
		return nil, err
	}
	return s.withUser(c, func(_ *user, d *userData) (any, bool, error) {
		recs := kind.records(d)
		for i, r := range *recs {
			if kind.uuid(r) == id {
				*recs = append((*recs)[:i:i], (*recs)[i+1:]...)
				return true, true, nil
			}
		}
		return true, false, nil
	})
}

// dataRec returns the optional data_rec dict argument of a create service
// (nil when absent).
func dataRec(c *call) (protocol.Dict, error) {
	p, err := c.params(0, "data_rec")
	if err != nil {
		return nil, err
	}
	if p[0] == nil {
		return nil, nil
	}
	d, ok := p[0].(protocol.Dict)
	if !ok {
		return nil, errors.New("data_rec must be a dict")
	}
	return d, nil
}

func (s *Service) apikeysCreate(c *call) (any, error) {
	d, err := dataRec(c)
	if err != nil {
		return nil, err
	}
	rec := &apiKeyRecord{Permissions: []keyPerm{}}
	for k, v := range d {
		switch k {
		case "description":
			if v == nil {
				continue
			}
			var ok bool
			if rec.Description, ok = v.(string); !ok {
				return nil, errors.New("description must be a string")
			}
		case "expires":
			if v == nil {
				continue
			}
			str, ok := v.(string)
			if !ok {
				return nil, errors.New("expires must be an ISO 8601 string or None")
			}
			if _, err := parseISOTime(str); err != nil {
				return nil, err
			}
			rec.Expires = &str
		case "permissions":
			ps, err := parseKeyPerms(v)
			if err != nil {
				return nil, err
			}
			if ps != nil {
				rec.Permissions = ps
			}
		default:
			return nil, fmt.Errorf("unknown API key field %q", k)
		}
	}
	return s.withUser(c, func(u *user, d *userData) (any, bool, error) {
		if len(d.APIKeys) >= maxAPIKeys {
			return nil, false, fmt.Errorf("too many API keys (limit %d)", maxAPIKeys)
		}
		rec.UUID, rec.Owner = newUUID(), u.uuid
		rec.PlaintextKey = newToken(24)
		rec.Key = keyDigest(u.login, rec.PlaintextKey)
		d.APIKeys = append(d.APIKeys, rec)
		return rec.dict(), true, nil
	})
}

func (s *Service) apikeysList(c *call) (any, error) { return listRecords(s, c, apiKeyKind) }

func (s *Service) apikeysDelete(c *call) (any, error) { return deleteRecord(s, c, apiKeyKind) }

func (o *otpRecord) dict(plaintext any) protocol.Dict {
	return protocol.Dict{
		"uuid": o.UUID, "origin": o.Origin, "expires": o.Expires, "permissions": permsList(o.Permissions),
		"key": o.Key, "owner": o.Owner, "login": o.Login, "plaintext_key": plaintext,
	}
}

// pruneOTPs drops expired OTPs; it reports whether any went.
func (s *Service) pruneOTPs(d *userData) bool {
	now := s.now()
	kept := d.OTPs[:0]
	for _, o := range d.OTPs {
		if !otpExpired(o, now) {
			kept = append(kept, o)
		}
	}
	changed := len(kept) != len(d.OTPs)
	clear(d.OTPs[len(kept):])
	d.OTPs = kept
	return changed
}

func (s *Service) otpCreate(c *call) (any, error) {
	d, err := dataRec(c)
	if err != nil {
		return nil, err
	}
	var ps []keyPerm
	for k, v := range d {
		if k != "permissions" {
			return nil, fmt.Errorf("unknown OTP field %q", k)
		}
		if ps, err = parseKeyPerms(v); err != nil {
			return nil, err
		}
	}
	if ps == nil {
		ps = []keyPerm{}
	}
	return s.withUser(c, func(u *user, d *userData) (any, bool, error) {
		s.pruneOTPs(d)
		if len(d.OTPs) >= maxOTPs {
			return nil, true, fmt.Errorf("too many OTPs (limit %d)", maxOTPs)
		}
		plain := newToken(24)
		o := &otpRecord{
			UUID: newUUID(), Origin: u.login + "@unknown", Expires: isoTime(s.now().Add(otpLifetime)),
			Permissions: ps, Key: keyDigest(u.login, plain), Owner: u.uuid, Login: u.login,
		}
		d.OTPs = append(d.OTPs, o)
		return o.dict(plain), true, nil
	})
}

func (s *Service) otpList(c *call) (any, error) { return listRecords(s, c, otpKind) }

func (s *Service) otpDelete(c *call) (any, error) { return deleteRecord(s, c, otpKind) }

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
