package auth

import (
	"slices"
	"strings"
)

// Rights of the PAT API, as the spec's prose names them.
const (
	MyRead        = "idn:my-personal-access-tokens:read"
	MyManage      = "idn:my-personal-access-tokens:manage"
	AllRead       = "idn:all-personal-access-tokens:read"
	AllManage     = "idn:all-personal-access-tokens:manage"
	ManagedRead   = "idn:managed-personal-access-tokens:read"
	ScopeAll      = "sp:scopes:all"
	OrgAdminLevel = "ORG_ADMIN"
)

// levelRights says which rights a user level grants. ISC publishes no such table; every identity has
// the "my" rights, ORG_ADMIN the "all" and "managed" ones too.
var levelRights = map[string][]string{
	OrgAdminLevel: {AllRead, AllManage, ManagedRead},
}

var everyoneRights = []string{MyRead, MyManage}

// implied lists what a right brings along: manage includes read, all includes my.
var implied = map[string][]string{
	MyManage:  {MyRead},
	AllRead:   {MyRead},
	AllManage: {AllRead, MyManage, MyRead},
}

// Rights is a caller's effective rights: those of the owner's user levels and extra rights, narrowed
// by the token's scopes.
type Rights map[string]bool

// Has reports whether the caller holds right.
func (r Rights) Has(right string) bool { return r[right] }

// Effective computes the rights of an identity with the given user levels and extra rights, acting
// through a token with the given scopes. sp:scopes:all grants everything the identity has; an
// sp:<x>-personal-access-tokens:<y> scope grants the matching idn: right (and what it implies);
// other scopes grant nothing here.
func Effective(levels, extra, scopes []string) Rights {
	owned := Rights{}
	for _, r := range everyoneRights {
		owned.add(r)
	}
	for _, l := range levels {
		for _, r := range levelRights[l] {
			owned.add(r)
		}
	}
	for _, r := range extra {
		owned.add(r)
	}
	if slices.Contains(scopes, ScopeAll) {
		return owned
	}
	granted := Rights{}
	for _, s := range scopes {
		if right, ok := strings.CutPrefix(s, "sp:"); ok && strings.Contains(right, "-personal-access-tokens:") {
			granted.add("idn:" + right)
		}
	}
	out := Rights{}
	for r := range granted {
		if owned[r] {
			out[r] = true
		}
	}
	return out
}

func (r Rights) add(right string) {
	r[right] = true
	for _, i := range implied[right] {
		r[i] = true
	}
}

// Allows reports whether a token's scopes pass an operation's security requirement: one of the
// operation's scopes, or sp:scopes:all.
func Allows(tokenScopes, operationScopes []string) bool {
	for _, s := range tokenScopes {
		if s == ScopeAll || slices.Contains(operationScopes, s) {
			return true
		}
	}
	return false
}
