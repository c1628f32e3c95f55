package izaber

import (
	"fmt"
	"maps"
	"math"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// knownConnectionKeys are the wamp.connection keys that Load decodes.
var knownConnectionKeys = []string{
	"url", "username", "password", "authid", "realm",
	"serializer", "serializers", "uri_base", "authmethods",
	"agent", "timeout", "auto_reconnect", "ping_interval",
	"heartbeat_timeout", "max_payload_size", "concurrency_max",
	"concurrency_queue_max", "concurrency_configs",
	"tls", "backoff_initial", "backoff_max", "max_retries",
	"connect_timeout", "wampcra_secret", "cryptosign_key_file",
	"concurrency_strict_naming", "event_queue_size",
}

// pythonOnlyKeys are accepted for compatibility with Python izaber-wamp
// but have no effect in Go; Load warns about them.
var pythonOnlyKeys = map[string]string{
	"loop_timeout":      "the Go client has no polling loop",
	"sockopt":           "socket options are not configurable",
	"sslopt":            "use wamp.connection.tls (ca_file, cert_file, key_file, server_name, insecure)",
	"concurrency_class": "the Go client has no queue classes",
}

// knownWAMPSections are the keys of the wamp section: the ones Load reads,
// and zerp, read by Python's izaber-wamp-zerp.
var knownWAMPSections = []string{"run", "connection", "zerp"}

// checkEnvironments warns about a file whose environments cannot be what
// its author meant: wamp settings at the top level (without "default:"),
// or no section for the selected environment when a key is spelt like it.
func (d *decoder) checkEnvironments(root map[string]any, env string) {
	if _, ok := root["wamp"]; ok {
		d.warnf("wamp", "is at the top level, where the keys name environments, so it is not read; put it under default:")
	}
	if _, ok := root[env]; ok || env != "default" && root[env] == nil {
		return
	}
	if near := closest(env, keysOf(root)); near != "" {
		d.warnf(near, "is not the %q environment, which does not exist; did you mean %s?", env, env)
	}
}

// decodeWAMP fills s.Config and s.Run from the merged environment m.
func (d *decoder) decodeWAMP(s *Settings, m map[string]any) error {
	wampV, ok := m["wamp"]
	if !ok {
		if near := closest("wamp", keysOf(m)); near != "" {
			d.warnf(near, "is not a section Load reads; did you mean wamp?")
		}
	}
	if wampV == nil {
		return nil
	}
	wamp, ok := wampV.(map[string]any)
	if !ok {
		return d.errf("wamp", "must be a mapping, got %s", kindOf(wampV))
	}
	for _, k := range sortedKeys(wamp) {
		if !slices.Contains(knownWAMPSections, k) {
			d.unknown("wamp."+k, "section", k, knownWAMPSections)
		}
	}
	if v, ok := wamp["run"]; ok && v != nil {
		b, err := d.boolean("wamp.run", v)
		if err != nil {
			return err
		}
		s.Run = b
	}
	connV := wamp["connection"]
	if connV == nil {
		return nil
	}
	conn, ok := connV.(map[string]any)
	if !ok {
		return d.errf("wamp.connection", "must be a mapping, got %s", kindOf(connV))
	}
	return d.connection(&s.Config, conn)
}

// decoder turns the merged environment into a Config, collecting
// warnings; source names the file (or other source) in messages.
type decoder struct {
	source   string
	warnings []string
}

// errf returns the error "izaber: <source>: <key> <message>".
func (d *decoder) errf(key, format string, args ...any) error {
	return configErrorf("izaber: %s: %s %s", d.source, key, fmt.Sprintf(format, args...))
}

// warnf adds the warning "<source>: <key> <message>".
func (d *decoder) warnf(key, format string, args ...any) {
	d.warnings = append(d.warnings, fmt.Sprintf("%s: %s %s", d.source, key, fmt.Sprintf(format, args...)))
}

// unknown warns about an unknown key (or section) name at path, with the
// closest known name when one is near.
func (d *decoder) unknown(path, what, name string, known []string) {
	if near := closest(name, known); near != "" {
		d.warnf(path, "is not a known %s and is ignored; did you mean %s?", what, near)
		return
	}
	d.warnf(path, "is not a known %s and is ignored", what)
}

func (d *decoder) connection(c *Config, conn map[string]any) error {
	const p = "wamp.connection."
	for _, k := range sortedKeys(conn) {
		v := conn[k]
		if slices.Contains(knownConnectionKeys, k) {
			if v != nil {
				c.setFrom(k, d.source+": "+p+k)
			}
			continue
		}
		if why, ok := pythonOnlyKeys[k]; ok {
			if v != nil {
				d.warnf(p+k, "has no effect in Go and is ignored: %s", why)
			}
			continue
		}
		d.unknown(p+k, "key", k, knownConnectionKeys)
	}
	var err error
	str := func(key string, dst *string) {
		if err != nil {
			return
		}
		if v, ok := conn[key]; ok && v != nil {
			*dst, err = d.str(p+key, v)
		}
	}
	str("url", &c.URL)
	str("username", &c.Username)
	str("authid", &c.AuthID)
	str("realm", &c.Realm)
	str("agent", &c.Agent)
	if err != nil {
		return err
	}
	if v, ok := conn["password"]; ok && v != nil {
		if c.Password, err = d.secret(p+"password", v); err != nil {
			return err
		}
	}
	if v, ok := conn["wampcra_secret"]; ok && v != nil {
		if c.CRASecret, err = d.secret(p+"wampcra_secret", v); err != nil {
			return err
		}
	}
	if v, ok := conn["cryptosign_key_file"]; ok && v != nil {
		path, err := d.str(p+"cryptosign_key_file", v)
		if err != nil {
			return err
		}
		if !filepath.IsAbs(path) && filepath.IsAbs(d.source) {
			path = filepath.Join(filepath.Dir(d.source), path) // relative to izaber.yaml
		}
		if c.CryptosignKey, err = ReadCryptosignKey(path); err != nil {
			return d.errf(p+"cryptosign_key_file", "is not usable: %v", err)
		}
	}
	if v, ok := conn["uri_base"]; ok && v != nil {
		s, err := d.str(p+"uri_base", v)
		if err != nil {
			return err
		}
		c.SetURIBase(s)
	}
	// serializers (a list) wins over serializer (one name), as in Python.
	if v, ok := conn["serializers"]; ok && v != nil {
		if c.Serializers, err = d.strList(p+"serializers", v); err != nil {
			return err
		}
	} else if v, ok := conn["serializer"]; ok && v != nil {
		s, err := d.str(p+"serializer", v)
		if err != nil {
			return err
		}
		c.Serializers = []string{s}
	}
	for i, s := range c.Serializers {
		s = strings.ToLower(s)
		c.Serializers[i] = s
		switch s {
		case "cbor", "msgpack", "json":
		default:
			return d.errf(p+"serializers", "names the unknown serializer %q (want cbor, msgpack or json)", s)
		}
	}
	if v, ok := conn["authmethods"]; ok && v != nil {
		if c.AuthMethods, err = d.strList(p+"authmethods", v); err != nil {
			return err
		}
	}
	dur := func(key string, dst *time.Duration, zeroMeans time.Duration) {
		if err != nil {
			return
		}
		if v, ok := conn[key]; ok && v != nil {
			*dst, err = d.duration(p+key, v)
			if err == nil && *dst == 0 {
				*dst = zeroMeans
			}
		}
	}
	dur("timeout", &c.Timeout, -1)
	dur("connect_timeout", &c.ConnectTimeout, 0)
	dur("ping_interval", &c.PingInterval, -1)
	dur("heartbeat_timeout", &c.HeartbeatTimeout, 0)
	dur("backoff_initial", &c.BackoffInitial, 0)
	dur("backoff_max", &c.BackoffMax, 0)
	if err != nil {
		return err
	}
	if v, ok := conn["auto_reconnect"]; ok && v != nil {
		switch t := v.(type) {
		case bool:
			c.DisableReconnect = !t
		default:
			secs, err := d.duration(p+"auto_reconnect", v)
			if err != nil {
				return d.errf(p+"auto_reconnect", "must be true, false or a number of seconds, got %s", kindOf(v))
			}
			if secs <= 0 {
				c.DisableReconnect = true
			} else if _, set := conn["backoff_initial"]; !set {
				c.BackoffInitial = secs
			}
		}
	}
	num := func(key string, dst *int) {
		if err != nil {
			return
		}
		if v, ok := conn[key]; ok && v != nil {
			*dst, err = d.integer(p+key, v)
		}
	}
	num("max_payload_size", &c.MaxPayloadSize)
	num("max_retries", &c.MaxRetries)
	num("event_queue_size", &c.EventQueueSize)
	if err != nil {
		return err
	}
	if c.ConcurrencyMax, err = d.limit(p+"concurrency_max", conn["concurrency_max"]); err != nil {
		return err
	}
	if c.ConcurrencyQueueMax, err = d.limit(p+"concurrency_queue_max", conn["concurrency_queue_max"]); err != nil {
		return err
	}
	if v, ok := conn["concurrency_strict_naming"]; ok && v != nil {
		strict, err := d.boolean(p+"concurrency_strict_naming", v)
		if err != nil {
			return err
		}
		c.LenientQueueNames = !strict
	}
	if v, ok := conn["concurrency_configs"]; ok && v != nil {
		if err := d.concurrencyConfigs(c, v); err != nil {
			return err
		}
	}
	if v, ok := conn["tls"]; ok && v != nil {
		if err := d.tls(c, v); err != nil {
			return err
		}
	}
	return nil
}

// concurrencyConfigs decodes concurrency_configs: a mapping of queue
// names to {concurrency_max, queue_max}. Python's extra keys (_class and
// the arguments of custom queue classes) are reported and ignored.
func (d *decoder) concurrencyConfigs(c *Config, v any) error {
	const key = "wamp.connection.concurrency_configs"
	m, ok := v.(map[string]any)
	if !ok {
		return d.errf(key, "must be a mapping of queue names, got %s", kindOf(v))
	}
	c.Queues = map[string]QueueConfig{}
	for _, name := range sortedKeys(m) {
		qv := m[name]
		if qv == nil {
			c.Queues[name] = QueueConfig{}
			continue
		}
		q, ok := qv.(map[string]any)
		if !ok {
			return d.errf(key+"."+name, "must be a mapping, got %s", kindOf(qv))
		}
		var qc QueueConfig
		for _, k := range sortedKeys(q) {
			var err error
			switch k {
			case "concurrency_max":
				qc.ConcurrencyMax, err = d.limit(key+"."+name+"."+k, q[k])
			case "queue_max", "concurrency_queue_max":
				qc.QueueMax, err = d.limit(key+"."+name+"."+k, q[k])
			case "_class":
				d.warnf(key+"."+name+"."+k, "has no effect in Go and is ignored: the Go client has no queue classes")
			default:
				d.unknown(key+"."+name+"."+k, "key", k, []string{"concurrency_max", "queue_max"})
			}
			if err != nil {
				return err
			}
		}
		c.Queues[name] = qc
	}
	return nil
}

// limit decodes a concurrency limit: 0 means unlimited, as in Python
// (negative in Config); null means the default.
func (d *decoder) limit(key string, v any) (int, error) {
	if v == nil {
		return 0, nil
	}
	n, err := d.integer(key, v)
	if n == 0 && err == nil {
		n = -1
	}
	return n, err
}

func (d *decoder) tls(c *Config, v any) error {
	const p = "wamp.connection.tls."
	m, ok := v.(map[string]any)
	if !ok {
		return d.errf("wamp.connection.tls", "must be a mapping, got %s", kindOf(v))
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := m[k]
		if v == nil {
			continue
		}
		var err error
		switch k {
		case "ca_file":
			c.TLSCAFile, err = d.str(p+k, v)
		case "cert_file":
			c.TLSCertFile, err = d.str(p+k, v)
		case "key_file":
			c.TLSKeyFile, err = d.str(p+k, v)
		case "server_name":
			c.TLSServerName, err = d.str(p+k, v)
		case "insecure":
			c.TLSInsecure, err = d.boolean(p+k, v)
		default:
			d.unknown(p+k, "key", k, []string{"ca_file", "cert_file", "key_file", "server_name", "insecure"})
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (d *decoder) str(key string, v any) (string, error) {
	if s, ok := v.(string); ok {
		return s, nil
	}
	return "", d.errf(key, "must be a string, got %s", kindOf(v))
}

// secret accepts text, or a number written without quotes (password: 1234),
// and never puts the value into an error.
func (d *decoder) secret(key string, v any) (string, error) {
	switch t := v.(type) {
	case string:
		return t, nil
	case int64:
		return strconv.FormatInt(t, 10), nil
	case uint64:
		return strconv.FormatUint(t, 10), nil
	case int:
		return strconv.Itoa(t), nil
	case float64:
		d.warnf(key, "is a number with a fraction, converted to text; quote it to keep it exactly as written")
		return strconv.FormatFloat(t, 'f', -1, 64), nil
	}
	return "", d.errf(key, "must be text, got %s", kindOf(v))
}

func (d *decoder) strList(key string, v any) ([]string, error) {
	switch t := v.(type) {
	case string:
		return []string{t}, nil
	case []any:
		out := make([]string, 0, len(t))
		for i, e := range t {
			s, ok := e.(string)
			if !ok {
				return nil, d.errf(fmt.Sprintf("%s[%d]", key, i), "must be a string, got %s", kindOf(e))
			}
			out = append(out, s)
		}
		return out, nil
	}
	return nil, d.errf(key, "must be a list of strings, got %s", kindOf(v))
}

func (d *decoder) boolean(key string, v any) (bool, error) {
	switch t := v.(type) {
	case bool:
		return t, nil
	case string:
		switch strings.ToLower(t) {
		case "true", "yes", "on":
			return true, nil
		case "false", "no", "off":
			return false, nil
		}
	case int64, uint64, int:
		n, _ := d.integer(key, v)
		return n != 0, nil
	}
	return false, d.errf(key, "must be true or false, got %s", kindOf(v))
}

func (d *decoder) integer(key string, v any) (int, error) {
	switch t := v.(type) {
	case int64:
		if t < 0 {
			return 0, d.errf(key, "must not be negative, got %d", t)
		}
		return int(t), nil
	case uint64:
		if t > math.MaxInt64>>1 {
			return 0, d.errf(key, "is too large: %d", t)
		}
		return int(t), nil
	case int:
		if t < 0 {
			return 0, d.errf(key, "must not be negative, got %d", t)
		}
		return t, nil
	case float64:
		if t == math.Trunc(t) && t >= 0 && t < 1<<53 {
			return int(t), nil
		}
		return 0, d.errf(key, "must be a whole non-negative number, got %v", t)
	}
	return 0, d.errf(key, "must be a whole number, got %s", kindOf(v))
}

// duration accepts a number of seconds (Python's unit) or a Go duration
// string such as "1m30s".
func (d *decoder) duration(key string, v any) (time.Duration, error) {
	var secs float64
	switch t := v.(type) {
	case int64:
		secs = float64(t)
	case uint64:
		secs = float64(t)
	case int:
		secs = float64(t)
	case float64:
		secs = t
	case string:
		if f, err := strconv.ParseFloat(strings.TrimSpace(t), 64); err == nil {
			secs = f
			break
		}
		dd, err := time.ParseDuration(strings.TrimSpace(t))
		if err != nil {
			return 0, d.errf(key, "must be a number of seconds or a duration such as \"30s\", got %q", t)
		}
		if dd < 0 {
			return 0, d.errf(key, "must not be negative, got %s", dd)
		}
		return dd, nil
	default:
		return 0, d.errf(key, "must be a number of seconds or a duration such as \"30s\", got %s", kindOf(v))
	}
	if math.IsNaN(secs) || secs < 0 || secs > float64(math.MaxInt64/int64(time.Second)) {
		return 0, d.errf(key, "must be a non-negative number of seconds, got %v", secs)
	}
	return time.Duration(secs * float64(time.Second)), nil
}

// sortedKeys returns the keys of m, sorted.
func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}

func keysOf(m map[string]any) []string { return sortedKeys(m) }

// closest returns the name in known that name is most likely a misspelling
// of (one edit away for names of up to four letters, two for longer
// ones; a swap of neighbours is one edit), or "".
func closest(name string, known []string) string {
	maxD := 2
	if len(name) <= 4 {
		maxD = 1
	}
	best, bestD := "", maxD+1
	for _, k := range known {
		if k == name {
			continue
		}
		if dist := editDistance(strings.ToLower(name), strings.ToLower(k)); dist < bestD {
			best, bestD = k, dist
		}
	}
	return best
}

// editDistance is the optimal string alignment distance of a and b:
// insertions, deletions, substitutions and swaps of neighbours (bytes).
func editDistance(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}
