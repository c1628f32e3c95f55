package nexus

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"sort"
	"strings"

	"github.com/goccy/go-yaml"
)

// Role names with a meaning of their own.
const (
	RoleFrontend = "frontend" // default role of a user without one (Nexus's DEFAULT_ROLE)
	RoleBackend  = "backend"
	RoleTrust    = "trust"  // bypasses role permissions
	RolePublic   = "public" // anonymous sessions
)

// prefix is the URI prefix under which every service is also registered.
const prefix = "com.izaber.wamp."

// defaultRoles are the rules of the built-in roles: those Nexus ships
// (its devdb, which the zaberit/nexus test image uses), so that a client
// allowed here is allowed by Nexus too. The table is in the package doc.
// permissive replaces frontend's and backend's rules with "*": "crspoq".
// A roles: section in the users file replaces a role's rules as a whole.
func defaultRoles(permissive bool) map[string][][2]string {
	p := func(uri string) string { return prefix + uri }
	roles := map[string][][2]string{
		RolePublic: {
			{p("public"), "crsp"},
			{p("discovery.kncknc"), "p"},
			{p("discovery.whsthr"), "s"},
			{p("/dashboard:.*:dashboardRegistry/.get"), "c"},
			{p("system.roster.query"), "c"},
			{"roster.*", "q"},
		},
		RoleFrontend: {
			{p("public.*"), "crsp"},
			{p("frontend.*"), "crsp"},
			{p("reauth"), "c+r+"},
			{p("auth.whoami"), "c"},
			{p("auth.authenticate"), "c"},
			{p("auth.reauthenticate"), "c"},
			{p("auth.reauthenticate_expire"), "c"},
			{p("auth.is_reauthenticated"), "c"},
			{p("auth.extend_reauthenticate"), "c"},
			{p("auth.refresh_authorizer"), "c"},
			{p("my.*"), "c"},
			{"my.*", "c"},
			{p("ad.users"), "c"},
			{p("ad.groups"), "c"},
			{p("system.db.query"), "c"},
			{p("system.db.create"), "c"},
			{p("system.db.update"), "c"},
			{p("system.db.upsert"), "c"},
			{p("system.db.delete"), "c"},
			{p("system.preference.get"), "c"},
			{p("system.preference.set"), "c"},
			{p("system.is_reauthenticated"), "c"},
			{p("system.extend_reauthenticate"), "c"},
			{p("/zerp.*/.*"), "cs"},
			{p("/dashboard:.*:dashboardRegistry/.get"), "c"},
			{p("/dashboard:.*/.*"), "cs"},
			{p("directory.users"), "c"},
			{p("directory.groups"), "c"},
			{p("notification.router.registerDestination"), "c"},
			{p("system.roster.register"), "c"},
			{p("system.roster.unregister"), "c"},
			{p("system.roster.query"), "c"},
			{"roster.*", "oq"},
			{p("graphs.product_graph_consumption"), "c"},
		},
		RoleBackend: {
			{p("*"), "crsp"},
			{"roster.*", "oq"},
		},
		RoleTrust: {{"*", "crspoq"}},
	}
	if permissive {
		roles[RoleFrontend] = [][2]string{{"*", "crspoq"}}
		roles[RoleBackend] = [][2]string{{"*", "crspoq"}}
	}
	return roles
}

// bypassRole reports whether role skips role permissions, like Nexus's
// trust and trusted.
func bypassRole(role string) bool { return role == RoleTrust || role == "trusted" }

// user is one account from the users file. Never log it: it holds secrets.
type user struct {
	login    string // lower-cased
	uuid     string // owner id of the user's records
	role     string
	disabled bool

	password     string        // plaintext from the file, or ""
	passwordHash *passwordHash // or nil

	craSecret     string
	craSalt       string
	craIterations int
	craKeyLen     int

	pubkeys []string // lower-case hex
}

// userDB is the parsed users file.
type userDB struct {
	users   map[string]*user    // by lower-case login
	byKey   map[string]*user    // by lower-case cryptosign public key hex
	roles   map[string]*ruleSet // by role name
	quotas  *Quotas             // the file's quotas: section, or nil
	anyCRA  bool                // some user has a WAMP-CRA secret
	anyKeys bool                // some user has cryptosign keys
	secrets bool                // some user has a plaintext password or WAMP-CRA secret

	// hashRounds is the largest password_hash iteration count: every
	// ticket check spends that much PBKDF2 work, whoever it is for.
	hashRounds int
	// craUsers are the users with a WAMP-CRA secret, in file order: an
	// unknown authid's decoy challenge takes the shape of one of them.
	craUsers []*user
}

// fileUser and fileRule are the YAML shapes of the users file.
type fileUser struct {
	Login             string   `yaml:"login"`
	Password          string   `yaml:"password"`
	PasswordHash      string   `yaml:"password_hash"`
	Role              string   `yaml:"role"`
	UUID              string   `yaml:"uuid"`
	Disabled          bool     `yaml:"disabled"`
	WAMPCRASecret     string   `yaml:"wampcra_secret"`
	WAMPCRASalt       string   `yaml:"wampcra_salt"`
	WAMPCRAIterations int      `yaml:"wampcra_iterations"`
	WAMPCRAKeyLen     int      `yaml:"wampcra_keylen"`
	CryptosignPubkeys []string `yaml:"cryptosign_pubkeys"`
}

type fileRule struct {
	URI   string `yaml:"uri"`
	Perms string `yaml:"perms"`
}

type usersFile struct {
	Users  []fileUser            `yaml:"users"`
	Roles  map[string][]fileRule `yaml:"roles"`
	Quotas *Quotas               `yaml:"quotas"`
}

// ConfigError reports a problem in the users file: the file, the key (such
// as "users[2].role") and what is wrong. It never quotes secrets.
type ConfigError struct {
	File    string
	Key     string
	Problem string
}

func (e *ConfigError) Error() string {
	if e.Key == "" {
		return fmt.Sprintf("nexus: users file %s: %s", e.File, e.Problem)
	}
	return fmt.Sprintf("nexus: users file %s: %s: %s", e.File, e.Key, e.Problem)
}

// loadUsers reads and checks a users file. An empty path means no users.
// A file holding plaintext secrets that other users can read is refused,
// unless allowReadable.
func loadUsers(path string, permissive, allowReadable bool, log *slog.Logger) (*userDB, error) {
	if path == "" {
		return buildUserDB("(none)", &usersFile{}, permissive)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("nexus: users file: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("nexus: users file: %w", err)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxUsersFile+1))
	if err != nil {
		return nil, fmt.Errorf("nexus: users file: %w", err)
	}
	if len(data) > maxUsersFile {
		return nil, &ConfigError{File: path, Problem: fmt.Sprintf("larger than %d bytes", maxUsersFile)}
	}
	db, err := parseUsers(path, data, permissive)
	if err != nil {
		return nil, err
	}
	// Windows has no such permission bits; its ACLs are not checked.
	if mode := fi.Mode().Perm(); runtime.GOOS != "windows" && mode&0o044 != 0 {
		switch {
		case db.secrets && !allowReadable:
			return nil, &ConfigError{File: path, Problem: fmt.Sprintf("holds plaintext secrets (password or wampcra_secret) and other users can read it (mode %04o): "+
				"chmod 600 it, replace password with password_hash (izaber-wamp router hash-password), or accept the risk explicitly (--allow-readable-users-file)", mode)}
		case db.secrets:
			log.Warn("nexus: users file holds plaintext secrets and other users can read it", "file", path, "mode", fmt.Sprintf("%04o", mode))
		default:
			log.Warn("nexus: users file holds password hashes and other users can read it; chmod 600 it", "file", path, "mode", fmt.Sprintf("%04o", mode))
		}
	}
	return db, nil
}

// maxUsersFile bounds the users file read into memory.
const maxUsersFile = 64 << 20

func parseUsers(name string, data []byte, permissive bool) (db *userDB, err error) {
	defer func() {
		if r := recover(); r != nil {
			db, err = nil, &ConfigError{File: name, Problem: "not valid YAML"}
		}
	}()
	var f usersFile
	if err := yaml.UnmarshalWithOptions(data, &f, yaml.DisallowUnknownField()); err != nil {
		// The YAML library's own message quotes the source around the
		// error, which may be a password line: keep only position and message.
		var ye yaml.Error
		if errors.As(err, &ye) {
			return nil, &ConfigError{File: name, Problem: ye.FormatError(false, false)}
		}
		return nil, &ConfigError{File: name, Problem: "not valid YAML"}
	}
	return buildUserDB(name, &f, permissive)
}

func buildUserDB(name string, f *usersFile, permissive bool) (*userDB, error) {
	bad := func(key, format string, args ...any) error {
		return &ConfigError{File: name, Key: key, Problem: fmt.Sprintf(format, args...)}
	}
	db := &userDB{users: map[string]*user{}, byKey: map[string]*user{}, roles: map[string]*ruleSet{}, quotas: f.Quotas}

	defs := defaultRoles(permissive)
	roleNames := make([]string, 0, len(f.Roles))
	for r := range f.Roles {
		roleNames = append(roleNames, r)
	}
	sort.Strings(roleNames)
	for _, r := range roleNames {
		if r == "" {
			return nil, bad("roles", "empty role name")
		}
		pairs := make([][2]string, 0, len(f.Roles[r]))
		for i, fr := range f.Roles[r] {
			if fr.URI == "" {
				return nil, bad(fmt.Sprintf("roles.%s[%d].uri", r, i), "missing")
			}
			pairs = append(pairs, [2]string{fr.URI, fr.Perms})
		}
		defs[r] = pairs
	}
	for r, pairs := range defs {
		rs, err := newRuleSet(pairs)
		if err != nil {
			return nil, bad("roles."+r, "%v", err)
		}
		db.roles[r] = rs
	}

	for i, fu := range f.Users {
		key := fmt.Sprintf("users[%d]", i)
		login := strings.ToLower(strings.TrimSpace(fu.Login))
		if login == "" {
			return nil, bad(key+".login", "missing")
		}
		if strings.ContainsFunc(login, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			return nil, bad(key+".login", "contains control characters")
		}
		if db.users[login] != nil {
			return nil, bad(key+".login", "login %q given more than once (logins are case-insensitive)", login)
		}
		u := &user{login: login, role: fu.Role, disabled: fu.Disabled, uuid: fu.UUID}
		if u.role == "" {
			u.role = RoleFrontend
		}
		if _, ok := db.roles[u.role]; !ok && !bypassRole(u.role) {
			return nil, bad(key+".role", "role %q is not defined (built in: frontend, backend, trust, public; or add it under roles:)", u.role)
		}
		if u.uuid == "" {
			sum := sha256.Sum256([]byte("nexus-user:" + login))
			u.uuid = base64.RawURLEncoding.EncodeToString(sum[:16])
		}
		switch {
		case fu.Password != "" && fu.PasswordHash != "":
			return nil, bad(key, "give either password or password_hash, not both")
		case fu.PasswordHash != "":
			h, err := parsePasswordHash(fu.PasswordHash)
			if err != nil {
				return nil, bad(key+".password_hash", "%v", err)
			}
			u.passwordHash = h
			db.hashRounds = max(db.hashRounds, h.iterations)
		default:
			u.password = fu.Password
		}
		if fu.Password != "" || fu.WAMPCRASecret != "" {
			db.secrets = true
		}
		if fu.WAMPCRASecret == "" && (fu.WAMPCRASalt != "" || fu.WAMPCRAIterations != 0 || fu.WAMPCRAKeyLen != 0) {
			return nil, bad(key, "wampcra_salt, wampcra_iterations and wampcra_keylen need wampcra_secret")
		}
		if fu.WAMPCRAIterations < 0 || fu.WAMPCRAIterations > maxHashIterations {
			return nil, bad(key+".wampcra_iterations", "must be between 1 and %d", maxHashIterations)
		}
		if fu.WAMPCRAKeyLen < 0 || fu.WAMPCRAKeyLen > 1024 {
			return nil, bad(key+".wampcra_keylen", "must be between 1 and 1024")
		}
		u.craSecret, u.craSalt = fu.WAMPCRASecret, fu.WAMPCRASalt
		u.craIterations, u.craKeyLen = fu.WAMPCRAIterations, fu.WAMPCRAKeyLen
		if u.craSalt != "" {
			if u.craIterations == 0 {
				u.craIterations = 1000
			}
			if u.craKeyLen == 0 {
				u.craKeyLen = 32
			}
		}
		if u.craSecret != "" {
			db.anyCRA = true
			db.craUsers = append(db.craUsers, u)
		}
		for j, k := range fu.CryptosignPubkeys {
			kk := strings.ToLower(strings.TrimSpace(k))
			b, err := hex.DecodeString(kk)
			if err != nil || len(b) != 32 {
				return nil, bad(fmt.Sprintf("%s.cryptosign_pubkeys[%d]", key, j), "must be 64 hex digits (an Ed25519 public key)")
			}
			if other := db.byKey[kk]; other != nil {
				return nil, bad(fmt.Sprintf("%s.cryptosign_pubkeys[%d]", key, j), "key already belongs to %q", other.login)
			}
			db.byKey[kk] = u
			u.pubkeys = append(u.pubkeys, kk)
			db.anyKeys = true
		}
		db.users[login] = u
	}
	return db, nil
}
