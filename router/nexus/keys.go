package nexus

import (
	"errors"
	"fmt"

	"github.com/zabertech/go-izaber-wamp/protocol"
)

// API keys and one-time passwords: my.apikeys.*, my.otp.* and the trusted
// system.otp.* services.

// parseKeyPerms reads the permissions list of an API key or OTP request.
func (s *Service) parseKeyPerms(v any) ([]keyPerm, error) {
	if v == nil {
		return nil, nil
	}
	l, ok := v.(protocol.List)
	if !ok {
		return nil, errors.New("permissions must be a list of {uri, perms}")
	}
	if err := over("permissions", "key_permissions", len(l), s.quotas.KeyPermissions, "rules"); err != nil {
		return nil, err
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
		if len(uri) > maxPatternBytes || len(ps) > maxPatternBytes {
			return nil, fmt.Errorf("permissions[%d]: uri and perms are limited to %d bytes", i, maxPatternBytes)
		}
		for k := range d {
			if k != "uri" && k != "perms" && k != "uuid" {
				return nil, fmt.Errorf("permissions[%d]: unknown field %.64q", i, k)
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

// maxPatternBytes bounds one URI pattern of an API key's or OTP's permissions.
const maxPatternBytes = 256

// inheritedLists returns the permission lists a key or OTP created by the
// session of c inherits: those of the API key or OTP the session logged
// in with (none for a password login), so the new key is never broader
// than its creator.
func (s *Service) inheritedLists(c *call) ([][]keyPerm, error) {
	k := s.sessionCookie(c.extra)
	if k == nil || len(k.perms) == 0 {
		return nil, nil
	}
	if len(k.perms) >= maxKeyGenerations {
		return nil, fmt.Errorf("keys can be minted at most %d sessions deep", maxKeyGenerations)
	}
	return k.perms, nil
}

// checkRuleCount applies the key_permissions quota to a new key's or
// OTP's own rules and those it inherits.
func (s *Service) checkRuleCount(own []keyPerm, inherited [][]keyPerm) error {
	n := len(own)
	for _, l := range inherited {
		n += len(l)
	}
	return over("permissions, inherited ones included,", "key_permissions", n, s.quotas.KeyPermissions, "rules")
}

func permsList(ps []keyPerm) protocol.List {
	out := make(protocol.List, 0, len(ps))
	for _, p := range ps {
		out = append(out, protocol.Dict{"uri": p.URI, "perms": p.Perms, "uuid": p.UUID})
	}
	return out
}

// dict is an API key as list returns it: plaintext_key is None, as the
// key itself is not stored.
func (k *apiKeyRecord) dict() protocol.Dict { return k.dictWith(nil) }

func (k *apiKeyRecord) dictWith(plaintext any) protocol.Dict {
	var exp any
	if k.Expires != nil {
		exp = *k.Expires
	}
	d := protocol.Dict{
		"uuid": k.UUID, "owner": k.Owner, "key": k.Key, "plaintext_key": plaintext,
		"description": k.Description, "expires": exp, "permissions": permsList(k.Permissions),
	}
	if len(k.Inherited) > 0 {
		d["inherited_permissions"] = inheritedList(k.Inherited)
	}
	return d
}

func inheritedList(lists [][]keyPerm) protocol.List {
	out := make(protocol.List, 0, len(lists))
	for _, l := range lists {
		out = append(out, permsList(l))
	}
	return out
}

func (o *otpRecord) dict(plaintext any) protocol.Dict {
	d := protocol.Dict{
		"uuid": o.UUID, "origin": o.Origin, "expires": o.Expires, "permissions": permsList(o.Permissions),
		"key": o.Key, "owner": o.Owner, "login": o.Login, "plaintext_key": plaintext,
	}
	if len(o.Inherited) > 0 {
		d["inherited_permissions"] = inheritedList(o.Inherited)
	}
	return d
}

// validUUID reports whether id has the form of a record uuid, as Nexus's
// validate_uid_b64: 22 characters of URL-safe base64 (or '+').
func validUUID(id string) bool {
	if len(id) != 22 {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' || r == '+') {
			return false
		}
	}
	return true
}

// deleteOwn deletes the caller's record of kind with the uuid_b64
// argument and returns true, whether or not there was one; another user's
// record is permissiondenied, a malformed uuid an error.
func (s *Service) deleteOwn(c *call, kind []byte) (any, error) {
	id, err := c.stringParam("uuid_b64")
	if err != nil {
		return nil, err
	}
	if !validUUID(id) {
		return nil, errors.New("uuid_b64 must be 22 characters of URL-safe base64")
	}
	u, err := s.caller(c)
	if err != nil {
		return nil, err
	}
	return s.update(u.login, func(tx *userTx) (any, error) {
		_, err := tx.deleteRecord(kind, id)
		if errors.Is(err, errNotOwner) {
			s.log.Info("refused to delete another user's record", "authid", u.login, "kind", string(kind))
			return nil, permissionDenied()
		}
		return true, err
	})
}

// dataRec returns the optional data_rec dict argument of a create service
// (nil when absent); first are the parameters before it.
func dataRec(c *call, first ...string) ([]any, protocol.Dict, error) {
	p, err := c.params(len(first), append(first, "data_rec")...)
	if err != nil {
		return nil, nil, err
	}
	last := p[len(first)]
	if last == nil {
		return p[:len(first)], nil, nil
	}
	d, ok := last.(protocol.Dict)
	if !ok {
		return nil, nil, errors.New("data_rec must be a dict")
	}
	return p[:len(first)], d, nil
}

func (s *Service) apikeysCreate(c *call) (any, error) {
	_, d, err := dataRec(c)
	if err != nil {
		return nil, err
	}
	u, err := s.caller(c)
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
			if err := overQuota("description", "key_description_bytes", len(rec.Description), s.quotas.KeyDescriptionBytes); err != nil {
				return nil, err
			}
		case "expires":
			if v == nil {
				continue
			}
			str, ok := v.(string)
			if !ok {
				return nil, errors.New("expires must be an ISO 8601 string or None")
			}
			if len(str) > 64 {
				return nil, errors.New("expires is not an ISO 8601 timestamp")
			}
			if _, err := parseISOTime(str); err != nil {
				return nil, err
			}
			rec.Expires = &str
		case "permissions":
			ps, err := s.parseKeyPerms(v)
			if err != nil {
				return nil, err
			}
			if ps != nil {
				rec.Permissions = ps
			}
		default:
			return nil, fmt.Errorf("unknown API key field %.64q", k)
		}
	}
	if rec.Inherited, err = s.inheritedLists(c); err != nil {
		return nil, err
	}
	if err := s.checkRuleCount(rec.Permissions, rec.Inherited); err != nil {
		return nil, err
	}
	plain := newToken(24)
	rec.UUID, rec.Owner, rec.Key = newUUID(), u.uuid, keyDigest(u.login, plain)
	return s.update(u.login, func(tx *userTx) (any, error) {
		if err := overCount("API keys", "api_keys", tx.countRecords(subAPIKeys), s.quotas.APIKeys); err != nil {
			return nil, err
		}
		return rec.dictWith(plain), tx.addRecord(subAPIKeys, rec.UUID, rec)
	})
}

func (s *Service) apikeysList(c *call) (any, error) {
	if _, err := c.params(0); err != nil {
		return nil, err
	}
	return s.view(c, func(_ *user, tx *userTx) (any, error) {
		keys, err := records[apiKeyRecord](tx, subAPIKeys)
		out := make(protocol.List, 0, len(keys))
		for _, k := range keys {
			out = append(out, k.dict())
		}
		return out, err
	})
}

func (s *Service) apikeysDelete(c *call) (any, error) { return s.deleteOwn(c, subAPIKeys) }

// pruneOTPs deletes login's expired OTPs.
func (s *Service) pruneOTPs(tx *userTx) error {
	otps, err := records[otpRecord](tx, subOTPs)
	if err != nil {
		return err
	}
	now := s.now()
	for _, o := range otps {
		if otpExpired(o, now) {
			if _, err := tx.deleteRecord(subOTPs, o.UUID); err != nil {
				return err
			}
		}
	}
	return nil
}

// newOTP creates an OTP for user u with the permissions of data_rec d, on
// behalf of the session of c; origin says where it comes from.
func (s *Service) newOTP(c *call, u *user, d protocol.Dict, origin string) (any, error) {
	var ps []keyPerm
	for k, v := range d {
		if k != "permissions" {
			return nil, fmt.Errorf("unknown OTP field %.64q", k)
		}
		var err error
		if ps, err = s.parseKeyPerms(v); err != nil {
			return nil, err
		}
	}
	if ps == nil {
		ps = []keyPerm{}
	}
	inherited, err := s.inheritedLists(c)
	if err != nil {
		return nil, err
	}
	if err := s.checkRuleCount(ps, inherited); err != nil {
		return nil, err
	}
	plain := newToken(24)
	o := &otpRecord{
		UUID: newUUID(), Origin: origin, Expires: isoTime(s.now().Add(otpLifetime)),
		Permissions: ps, Key: keyDigest(u.login, plain), Owner: u.uuid, Login: u.login, Inherited: inherited,
	}
	return s.update(u.login, func(tx *userTx) (any, error) {
		if err := s.pruneOTPs(tx); err != nil {
			return nil, err
		}
		if err := overCount("unexpired OTPs", "otps", tx.countRecords(subOTPs), s.quotas.OTPs); err != nil {
			return nil, err
		}
		return o.dict(plain), tx.addRecord(subOTPs, o.UUID, o)
	})
}

func (s *Service) otpCreate(c *call) (any, error) {
	_, d, err := dataRec(c)
	if err != nil {
		return nil, err
	}
	u, err := s.caller(c)
	if err != nil {
		return nil, err
	}
	return s.newOTP(c, u, d, u.login+"@"+c.peerHost())
}

// listOTPs returns login's unexpired OTPs, without their keys' plaintext.
func (s *Service) listOTPs(login string) (any, error) {
	var out protocol.List
	expired := false
	err := s.store.view(login, func(tx *userTx) error {
		otps, err := records[otpRecord](tx, subOTPs)
		now := s.now()
		out = make(protocol.List, 0, len(otps))
		for _, o := range otps {
			if otpExpired(o, now) {
				expired = true
				continue
			}
			out = append(out, o.dict(nil))
		}
		return err
	})
	if err == nil && expired {
		err = s.store.update(login, s.pruneOTPs)
	}
	if err != nil {
		return nil, s.storeErr(login, err)
	}
	return out, nil
}

func (s *Service) otpList(c *call) (any, error) {
	if _, err := c.params(0); err != nil {
		return nil, err
	}
	u, err := s.caller(c)
	if err != nil {
		return nil, err
	}
	return s.listOTPs(u.login)
}

func (s *Service) otpDelete(c *call) (any, error) { return s.deleteOwn(c, subOTPs) }

// trusted refuses system.otp.* to sessions whose role does not bypass
// role rules (trust, trusted): Nexus leaves that to its role rules alone,
// which let its default backend role mint OTPs for any user.
func trusted(c *call) error {
	if !bypassRole(c.role) {
		return permissionDenied()
	}
	return nil
}

// targetUser reads the login argument of a system.otp service.
func (s *Service) targetUser(c *call, v any) (*user, error) {
	login, err := asString(c, v, "login")
	if err != nil {
		return nil, err
	}
	u := s.lookupUser(login)
	if u == nil {
		return nil, errors.New("Unknown user")
	}
	return u, nil
}

// systemOTPCreate is system.otp.create(login, data_rec=None): a trusted
// session mints an OTP for another user.
func (s *Service) systemOTPCreate(c *call) (any, error) {
	if err := trusted(c); err != nil {
		return nil, err
	}
	p, d, err := dataRec(c, "login")
	if err != nil {
		return nil, err
	}
	u, err := s.targetUser(c, p[0])
	if err != nil {
		return nil, err
	}
	return s.newOTP(c, u, d, fmt.Sprintf("%s@%s created token for %s", c.authid, c.peerHost(), u.login))
}

// systemOTPList is system.otp.list(login): another user's OTPs.
func (s *Service) systemOTPList(c *call) (any, error) {
	if err := trusted(c); err != nil {
		return nil, err
	}
	p, err := c.params(1, "login")
	if err != nil {
		return nil, err
	}
	u, err := s.targetUser(c, p[0])
	if err != nil {
		return nil, err
	}
	return s.listOTPs(u.login)
}

// systemOTPDelete is system.otp.delete(uuid_b64): it deletes any user's
// OTP and returns true, whether or not there was one.
func (s *Service) systemOTPDelete(c *call) (any, error) {
	if err := trusted(c); err != nil {
		return nil, err
	}
	id, err := c.stringParam("uuid_b64")
	if err != nil {
		return nil, err
	}
	if !validUUID(id) {
		return nil, errors.New("uuid_b64 must be 22 characters of URL-safe base64")
	}
	var owner string
	if err := s.store.view("", func(tx *userTx) error { owner = tx.recordOwner(id); return nil }); err != nil {
		return nil, s.storeErr("", err)
	}
	if owner == "" {
		return true, nil
	}
	return s.update(owner, func(tx *userTx) (any, error) {
		_, err := tx.deleteRecord(subOTPs, id)
		return true, err
	})
}
