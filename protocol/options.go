package protocol

import (
	"strconv"
)

// This file holds the types of the spec-defined Options/Details keys, per
// message (wamp-protocol-notes §1.5; autobahn's parse functions, which
// crossbar uses, check the same). A key of the wrong type is a protocol
// violation naming the key: a *ValidationError with Field "Options.<key>"
// or "Details.<key>". Keys not listed pass through unchecked.

// keyType is the type a spec-defined key must have.
type keyType uint8

const (
	kBool          keyType = iota + 1
	kString                // any string
	kURI                   // a string that is a valid URI (loose rule)
	kCount                 // an integer >= 0
	kPositive              // an integer >= 1
	kID                    // an integer in [1, 2^53]
	kIDList                // a list of IDs
	kStringList            // a list of strings
	kDict                  // a dict
	kRoles                 // HELLO/WELCOME roles: dicts whose features are bools
	kForwardFor            // a list of {session: id, authid: string, authrole: string}
	kMatch                 // exact, prefix or wildcard
	kInvoke                // single, roundrobin, random, first or last
	kCancelMode            // skip, kill or killnowait
	kInterruptMode         // kill or killnowait
	kEncAlgo               // cryptobox, mqtt, xbr or x_...
	kEncSerializer         // json, msgpack, cbor, ubjson, flatbuffers, opaque or x_...
	kScheme                // a non-empty string (ppt_scheme)
	kPPTAttr               // a string (ppt_serializer, ppt_cipher, ppt_keyid)
)

// passthruSeen records which passthru keys a dict holds, for checkPassthru.
type passthruSeen uint8

const (
	seenScheme passthruSeen = 1 << iota // ppt_scheme
	seenEnc                             // enc_algo
	seenAttr                            // another ppt_* key
)

func (s *passthruSeen) add(o passthruSeen) { *s |= o }

// keyDef is one spec-defined key and its type.
type keyDef struct {
	key string
	t   keyType
}

// keyTypes is the set of typed keys of one message's Options or Details.
// A nil *keyTypes checks nothing.
type keyTypes struct{ types map[string]keyType }

func keySet(groups ...[]keyDef) keyTypes {
	k := keyTypes{types: map[string]keyType{}}
	for _, g := range groups {
		for _, d := range g {
			k.types[d.key] = d.t
		}
	}
	return k
}

// Key groups shared by several messages.
var (
	forwardForKeys = []keyDef{{"forward_for", kForwardFor}}
	// autobahn/crossbar payload transparency (see passthru.go).
	encKeys = []keyDef{{OptEncAlgo, kEncAlgo}, {OptEncKey, kString}, {OptEncSerializer, kEncSerializer}}
	// the spec's payload passthru mode (see passthru.go).
	pptKeys = []keyDef{{OptPPTScheme, kScheme}, {OptPPTSerializer, kPPTAttr}, {OptPPTCipher, kPPTAttr}, {OptPPTKeyID, kPPTAttr}}
	// caller and callee identification.
	callerKeys = []keyDef{{"caller", kID}, {"caller_authid", kString}, {"caller_authrole", kString}}
	calleeKeys = []keyDef{{"callee", kID}, {"callee_authid", kString}, {"callee_authrole", kString}}
)

// The typed keys of every message's Options or Details.
var (
	helloDetails = keySet([]keyDef{
		{"roles", kRoles}, {"authmethods", kStringList}, {"authid", kString}, {"authrole", kString},
		{"authextra", kDict}, {"agent", kString}, {"resumable", kBool},
	})
	welcomeDetails = keySet([]keyDef{
		{"roles", kRoles}, {"realm", kString}, {"authid", kString}, {"authrole", kString},
		{"authmethod", kString}, {"authprovider", kString}, {"authextra", kDict}, {"agent", kString},
		{"resumed", kBool}, {"resumable", kBool}, {"resume_token", kString},
	})
	closeDetails   = keySet([]keyDef{{"message", kString}, {"resumable", kBool}})
	publishOptions = keySet([]keyDef{
		{"acknowledge", kBool}, {"exclude_me", kBool}, {"disclose_me", kBool}, {"retain", kBool},
		{"exclude", kIDList}, {"eligible", kIDList},
		{"exclude_authid", kStringList}, {"exclude_authrole", kStringList},
		{"eligible_authid", kStringList}, {"eligible_authrole", kStringList},
		{"transaction_hash", kString},
	}, forwardForKeys, encKeys, pptKeys)
	subscribeOptions = keySet([]keyDef{{"match", kMatch}, {"get_retained", kBool}}, forwardForKeys)
	eventDetails     = keySet([]keyDef{
		{"publisher", kID}, {"publisher_authid", kString}, {"publisher_authrole", kString},
		{"topic", kString}, {"retained", kBool}, {"transaction_hash", kString}, {"x_acknowledged_delivery", kBool},
	}, forwardForKeys, encKeys, pptKeys)
	callOptions = keySet([]keyDef{
		{"timeout", kCount}, {"receive_progress", kBool}, {"disclose_me", kBool}, {"progress", kBool},
		{"transaction_hash", kString},
	}, callerKeys, forwardForKeys, encKeys, pptKeys)
	cancelOptions   = keySet([]keyDef{{"mode", kCancelMode}}, forwardForKeys)
	resultDetails   = keySet([]keyDef{{"progress", kBool}}, calleeKeys, forwardForKeys, encKeys, pptKeys)
	registerOptions = keySet([]keyDef{
		{"match", kMatch}, {"invoke", kInvoke}, {"concurrency", kPositive}, {"force_reregister", kBool},
		{"disclose_caller", kBool}, {"forward_timeout", kBool},
	}, forwardForKeys)
	invocationDetails = keySet([]keyDef{
		{"procedure", kString}, {"timeout", kCount}, {"receive_progress", kBool}, {"progress", kBool},
		{"transaction_hash", kString},
	}, callerKeys, forwardForKeys, encKeys, pptKeys)
	interruptOptions    = keySet([]keyDef{{"mode", kInterruptMode}, {"reason", kURI}}, forwardForKeys)
	yieldOptions        = keySet([]keyDef{{"progress", kBool}}, calleeKeys, forwardForKeys, encKeys, pptKeys)
	errorDetails        = keySet(calleeKeys, forwardForKeys, encKeys, pptKeys)
	forwardOptions      = keySet(forwardForKeys)
	unsubscribedDetails = keySet([]keyDef{{"subscription", kID}, {"reason", kURI}})
	unregisteredDetails = keySet([]keyDef{{"registration", kID}, {"reason", kURI}})
)

// check validates the typed keys present in d and records the passthru
// keys it holds in seen.
func (k *keyTypes) check(c Code, field string, d Dict, seen *passthruSeen) error {
	if k == nil || len(d) == 0 {
		return nil
	}
	for key, v := range d {
		if err := k.checkOne(c, field, key, v, seen); err != nil {
			return err
		}
	}
	return nil
}

// checkOne validates one key of a dict (see check).
func (k *keyTypes) checkOne(c Code, field, key string, v any, seen *passthruSeen) error {
	t, ok := k.types[key]
	if !ok {
		return nil
	}
	if reason := checkKey(t, v); reason != "" {
		return invalid(c, field+"."+key, reason)
	}
	switch t {
	case kScheme:
		*seen |= seenScheme
	case kEncAlgo:
		*seen |= seenEnc
	case kPPTAttr:
		*seen |= seenAttr
	}
	return nil
}

// dictKeys checks the spec-defined keys of a message's Options or Details
// while an encoder writes the dict, so that Marshal iterates it once.
type dictKeys struct {
	keys  *keyTypes
	code  Code
	field string
	seen  passthruSeen
}

func (dk *dictKeys) check(key string, v any) error {
	if dk == nil || dk.keys == nil {
		return nil
	}
	return dk.keys.checkOne(dk.code, dk.field, key, v, &dk.seen)
}

// checkKey returns why v is not of type t, or "".
func checkKey(t keyType, v any) string {
	switch t {
	case kBool:
		if _, ok := v.(bool); !ok {
			return want(v, "a bool")
		}
	case kString, kPPTAttr:
		if _, ok := v.(string); !ok {
			return want(v, "a string")
		}
	case kScheme:
		if s, ok := v.(string); !ok || s == "" {
			return want(v, "a non-empty string")
		}
	case kURI:
		s, ok := v.(string)
		if !ok {
			return want(v, "a URI")
		}
		if !LooseURIs.ValidURI(s, "") {
			return "invalid URI " + quote(s)
		}
	case kCount, kPositive, kID:
		n, ok := integer(v)
		switch {
		case !ok:
			return want(v, "an integer")
		case n.neg || t == kPositive && n.u == 0:
			return "integer " + n.String() + " out of range"
		case t == kID && (n.u == 0 || n.u > MaxID):
			return "ID " + n.String() + " out of range [1, 2^53]"
		}
	case kIDList:
		return checkList(v, "a list of IDs", func(e any) string { return checkKey(kID, e) })
	case kStringList:
		return checkList(v, "a list of strings", func(e any) string { return checkKey(kString, e) })
	case kDict:
		if _, ok := v.(Dict); !ok {
			return want(v, "a dict")
		}
	case kRoles:
		return checkRoles(v)
	case kForwardFor:
		return checkList(v, "a list of dicts", checkForwardFor)
	case kMatch:
		return oneOf(v, MatchExact, MatchPrefix, MatchWildcard)
	case kInvoke:
		return oneOf(v, "single", "roundrobin", "random", "first", "last")
	case kCancelMode:
		return oneOf(v, "skip", "kill", "killnowait")
	case kInterruptMode:
		return oneOf(v, "kill", "killnowait")
	case kEncAlgo:
		if r := oneOf(v, "cryptobox", "mqtt", "xbr"); r != "" && !customName(v) {
			return r + " or x_..."
		}
	case kEncSerializer:
		if r := oneOf(v, "json", "msgpack", "cbor", "ubjson", "flatbuffers", "opaque"); r != "" && !customName(v) {
			return r + " or x_..."
		}
	}
	return ""
}

func want(v any, what string) string { return typeName(v) + ", want " + what }

// checkList checks that v is a list whose elements pass elem. Besides
// List it accepts the typed slices a Go caller naturally builds.
func checkList(v any, what string, elem func(any) string) string {
	switch l := v.(type) {
	case List:
		for i, e := range l {
			if r := elem(e); r != "" {
				return "element " + strconv.Itoa(i) + ": " + r
			}
		}
		return ""
	case []string:
		if elem("") == "" {
			return ""
		}
	case []ID, []int64, []int:
		if elem(int64(1)) == "" {
			for i, e := range idSlice(l) {
				if r := elem(e); r != "" {
					return "element " + strconv.Itoa(i) + ": " + r
				}
			}
			return ""
		}
	case []Dict:
		for i, e := range l {
			if r := elem(e); r != "" {
				return "element " + strconv.Itoa(i) + ": " + r
			}
		}
		return ""
	}
	return want(v, what)
}

func idSlice(v any) List {
	var l List
	switch s := v.(type) {
	case []ID:
		for _, e := range s {
			l = append(l, e)
		}
	case []int64:
		for _, e := range s {
			l = append(l, e)
		}
	case []int:
		for _, e := range s {
			l = append(l, e)
		}
	}
	return l
}

func checkForwardFor(e any) string {
	d, ok := e.(Dict)
	if !ok {
		return want(e, "a dict")
	}
	if r := checkKey(kID, d["session"]); r != "" {
		return "session: " + r
	}
	if r := checkKey(kString, d["authid"]); r != "" {
		return "authid: " + r
	}
	if r := checkKey(kString, d["authrole"]); r != "" {
		return "authrole: " + r
	}
	return ""
}

// checkRoles checks the shape of Details.roles: a dict of role dicts whose
// optional "features" is a dict of bools.
func checkRoles(v any) string {
	roles, ok := v.(Dict)
	if !ok {
		return want(v, "a dict")
	}
	for name, r := range roles {
		rd, ok := r.(Dict)
		if !ok {
			return name + ": " + want(r, "a dict")
		}
		f, ok := rd["features"]
		if !ok {
			continue
		}
		fd, ok := f.(Dict)
		if !ok {
			return name + ".features: " + want(f, "a dict")
		}
		for feature, b := range fd {
			if _, ok := b.(bool); !ok {
				return name + ".features." + feature + ": " + want(b, "a bool")
			}
		}
	}
	return ""
}

func oneOf(v any, values ...string) string {
	s, ok := v.(string)
	if !ok {
		return want(v, "one of "+joinQuoted(values))
	}
	for _, x := range values {
		if s == x {
			return ""
		}
	}
	return quote(s) + ", want one of " + joinQuoted(values)
}

func joinQuoted(values []string) string {
	s := ""
	for i, v := range values {
		if i > 0 {
			s += ", "
		}
		s += strconv.Quote(v)
	}
	return s
}

// customName reports whether v is an implementation-specific identifier
// in autobahn's spelling: x_ followed by [a-z][a-z0-9_]+, or x_ alone.
func customName(v any) bool {
	s, ok := v.(string)
	if !ok || len(s) < 2 || s[:2] != "x_" {
		return false
	}
	rest := s[2:]
	if rest == "" {
		return true
	}
	if len(rest) < 2 || rest[0] < 'a' || rest[0] > 'z' {
		return false
	}
	for i := 1; i < len(rest); i++ {
		c := rest[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// intValue is an integer of any Go integer type, as magnitude and sign.
type intValue struct {
	u   uint64
	neg bool
}

func (n intValue) String() string {
	if n.neg {
		return "-" + strconv.FormatUint(n.u, 10)
	}
	return strconv.FormatUint(n.u, 10)
}

// integer converts any Go integer type; floats are not integers.
func integer(v any) (intValue, bool) {
	var i int64
	switch x := v.(type) {
	case int64:
		i = x
	case uint64:
		return intValue{u: x}, true
	case int:
		i = int64(x)
	case int32:
		i = int64(x)
	case int16:
		i = int64(x)
	case int8:
		i = int64(x)
	case uint:
		return intValue{u: uint64(x)}, true
	case uint32:
		return intValue{u: uint64(x)}, true
	case uint16:
		return intValue{u: uint64(x)}, true
	case uint8:
		return intValue{u: uint64(x)}, true
	default:
		return intValue{}, false
	}
	if i < 0 {
		return intValue{u: uint64(-(i + 1)) + 1, neg: true}, true
	}
	return intValue{u: uint64(i)}, true
}
