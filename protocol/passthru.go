package protocol

// Payload passthru mode (PPT) lets a publisher or caller send a payload the
// router must not inspect: end-to-end encrypted data, or an MQTT message
// passed through as is. It comes in two spellings:
//
//   - The specification's (A/payload_passthru_mode.md, which nexus
//     follows): Options/Details ppt_scheme (required), ppt_serializer,
//     ppt_cipher and ppt_keyid, all strings; the payload is ONE binary
//     element inside Arguments, [..., [Payload|binary]], and ArgumentsKw
//     is absent.
//   - autobahn's and crossbar's "payload transparency": enc_algo
//     (cryptobox, mqtt, xbr or x_...), enc_serializer and enc_key; the
//     opaque payload REPLACES the Arguments element, [..., Payload|binary].
//
// Both decode into one representation: Args holds exactly the payload
// (List{payload}) and Options/Details keep their keys as sent. A message
// with enc_algo and such an Args is written in autobahn's shape again, so a
// router that forwards Args and the keys unchanged forwards either spelling
// faithfully. PassthruOf reads the payload and its attributes from a
// message's parts; Passthru.Apply builds them.
//
// Validation (on receive and on send): the ppt_* and enc_* values must be
// strings (ppt_scheme non-empty; enc_algo and enc_serializer from
// autobahn's lists or x_...); a message with ppt_scheme must have exactly
// one binary element in Args and no Kwargs; other ppt_* keys need
// ppt_scheme; the two spellings cannot be mixed; an opaque payload in the
// Arguments position needs enc_algo (autobahn also accepts a string there,
// and so do we). Announcing the feature and checking that peers announced
// it is the session's and router's business.

// The passthru Options/Details keys in both spellings.
const (
	OptPPTScheme     = "ppt_scheme"
	OptPPTSerializer = "ppt_serializer"
	OptPPTCipher     = "ppt_cipher"
	OptPPTKeyID      = "ppt_keyid"
	OptEncAlgo       = "enc_algo"
	OptEncSerializer = "enc_serializer"
	OptEncKey        = "enc_key"
)

// passthruKeys are every passthru key, in both spellings.
var passthruKeys = [...]string{OptPPTScheme, OptPPTSerializer, OptPPTCipher, OptPPTKeyID, OptEncAlgo, OptEncSerializer, OptEncKey}

// Passthru is a payload in passthru mode and the attributes that describe
// it, whichever spelling it came in.
type Passthru struct {
	// Scheme is ppt_scheme, or enc_algo in autobahn's spelling. Required.
	Scheme string
	// Serializer is ppt_serializer or enc_serializer; empty when absent.
	Serializer string
	// Cipher is ppt_cipher (the specification's spelling only).
	Cipher string
	// KeyID is ppt_keyid, or enc_key in autobahn's spelling.
	KeyID string
	// Payload is the opaque payload.
	Payload []byte
	// Autobahn selects autobahn's enc_* spelling, in which the payload
	// replaces the Arguments element; false is the specification's.
	Autobahn bool
}

// PassthruOf returns the passthru payload of a message given its Options or
// Details and its Args, and whether the message is in passthru mode (has
// ppt_scheme or enc_algo). Use it on validated messages: it does not check
// what validation checks.
func PassthruOf(opts Dict, args List) (Passthru, bool) {
	var p Passthru
	str := func(k string) string { s, _ := opts[k].(string); return s }
	if s := str(OptPPTScheme); s != "" {
		p = Passthru{Scheme: s, Serializer: str(OptPPTSerializer), Cipher: str(OptPPTCipher), KeyID: str(OptPPTKeyID)}
	} else if s := str(OptEncAlgo); s != "" {
		p = Passthru{Scheme: s, Serializer: str(OptEncSerializer), KeyID: str(OptEncKey), Autobahn: true}
	} else {
		return Passthru{}, false
	}
	if len(args) == 1 {
		switch b := args[0].(type) {
		case []byte:
			p.Payload = b
		case string:
			p.Payload = []byte(b)
		}
	}
	return p, true
}

// Apply returns the Options (or Details) and Args of a message carrying p:
// a copy of opts with p's attributes set in p's spelling (and those of the
// other spelling removed), and List{p.Payload}. Send the message without
// Kwargs.
func (p Passthru) Apply(opts Dict) (Dict, List) {
	out := make(Dict, len(opts)+4)
	for k, v := range opts {
		out[k] = v
	}
	for _, k := range passthruKeys {
		delete(out, k)
	}
	set := func(k, v string) {
		if v != "" {
			out[k] = v
		}
	}
	if p.Autobahn {
		set(OptEncAlgo, p.Scheme)
		set(OptEncSerializer, p.Serializer)
		set(OptEncKey, p.KeyID)
	} else {
		set(OptPPTScheme, p.Scheme)
		set(OptPPTSerializer, p.Serializer)
		set(OptPPTCipher, p.Cipher)
		set(OptPPTKeyID, p.KeyID)
	}
	payload := p.Payload
	if payload == nil {
		payload = []byte{}
	}
	return out, List{payload}
}

// CopyPassthru copies the passthru keys of src (both spellings) into dst,
// which it allocates when nil and needed, and returns dst. A router uses it
// to forward PUBLISH Options to EVENT Details, CALL Options to INVOCATION
// Details, and YIELD Options or ERROR Details back, untouched.
func CopyPassthru(dst, src Dict) Dict {
	if len(src) == 0 {
		return dst
	}
	for _, k := range passthruKeys {
		if v, ok := src[k]; ok {
			if dst == nil {
				dst = Dict{}
			}
			dst[k] = v
		}
	}
	return dst
}

// hasEncAlgo reports whether opts has autobahn's enc_algo.
func hasEncAlgo(opts Dict) bool {
	if len(opts) == 0 {
		return false
	}
	_, ok := opts[OptEncAlgo].(string)
	return ok
}

// opaquePayload reports whether the payload is written in autobahn's
// shape: one binary (or string) element in place of Arguments.
func opaquePayload(opts Dict, args List, kwargs Dict) bool {
	if len(args) != 1 || len(kwargs) != 0 || !hasEncAlgo(opts) {
		return false
	}
	switch args[0].(type) {
	case []byte, string:
		return true
	}
	return false
}

// checkPassthru checks the payload shape passthru mode requires; seen
// says which passthru keys the message's Options/Details hold (their types
// have been checked with the other keys).
func checkPassthru(c Code, seen passthruSeen, opts Dict, args List, kwargs Dict) error {
	field := "Details"
	switch c {
	case CodePublish, CodeCall, CodeYield:
		field = "Options"
	}
	switch {
	case seen&seenScheme != 0 && seen&seenEnc != 0:
		return invalid(c, field, "ppt_scheme and enc_algo cannot be used together")
	case seen&seenScheme == 0 && seen&seenAttr != 0:
		for _, k := range [...]string{OptPPTSerializer, OptPPTCipher, OptPPTKeyID} {
			if _, ok := opts[k]; ok {
				return invalid(c, field+"."+k, "needs ppt_scheme")
			}
		}
		return nil
	case seen&seenScheme == 0:
		return nil
	}
	if len(args) != 1 || len(kwargs) != 0 {
		return invalid(c, "Args", "payload passthru mode needs exactly one binary element in Args and no Kwargs")
	}
	if _, ok := args[0].([]byte); !ok {
		return invalid(c, "Args", "payload passthru mode needs a binary payload, got "+typeName(args[0]))
	}
	return nil
}
