package auth

import "strings"

// Right is one right of the PAT API; a Rights value holds several.
type Right uint8

// The rights of the PAT API, as the spec's prose names them.
const (
	MyRead Right = 1 << iota
	MyManage
	AllRead
	AllManage
	ManagedRead
)

var rightNames = map[string]Right{
	"idn:my-personal-access-tokens:read":      MyRead,
	"idn:my-personal-access-tokens:manage":    MyManage,
	"idn:all-personal-access-tokens:read":     AllRead,
	"idn:all-personal-access-tokens:manage":   AllManage,
	"idn:managed-personal-access-tokens:read": ManagedRead,
}

const (
	// ScopeAll grants every right the identity has.
	ScopeAll = "sp:scopes:all"
	// OrgAdminLevel is the user level of tenant administrators.
	OrgAdminLevel = "ORG_ADMIN"
)

// levelRights says which rights a user level grants. ISC publishes no such table; every identity has
// the "my" rights, ORG_ADMIN the "all" and "managed" ones too.
var levelRights = map[string]Right{
	OrgAdminLevel: AllRead | AllManage | ManagedRead,
}

const everyoneRights = MyRead | MyManage

// implied is what a right brings along: manage includes read, all includes my.
var implied = map[Right]Right{
	MyManage:  MyRead,
	AllRead:   MyRead,
	AllManage: AllRead | MyManage | MyRead,
}

// Rights is a caller's effective rights: those of the owner's user levels and extra rights, narrowed
// by the token's scopes.
type Rights Right

// Has reports whether the caller holds right.
func (r Rights) Has(right Right) bool { return Right(r)&right != 0 }

// withImplied adds what each right implies.
func withImplied(r Right) Right {
	for right, more := range implied {
		if r&right != 0 {
			r |= more
		}
	}
	return r
}

// Effective computes the rights of an identity with the given user levels and extra rights, acting
// through a token with the given scopes. sp:scopes:all grants everything the identity has; an
// sp:<x>-personal-access-tokens:<y> scope grants the matching idn: right (and what it implies);
// other scopes grant nothing here.
func Effective(levels, extra, scopes []string) Rights {
	owned := everyoneRights
	for _, l := range levels {
		owned |= levelRights[l]
	}
	for _, r := range extra {
		owned |= rightNames[r]
	}
	owned = withImplied(owned)
	var granted Right
	for _, s := range scopes {
		if s == ScopeAll {
			return Rights(owned)
		}
		if right, ok := strings.CutPrefix(s, "sp:"); ok {
			granted |= rightNames["idn:"+right]
		}
	}
	return Rights(owned & withImplied(granted))
}

// Allows reports whether a token's scopes pass an operation's security requirement: one of the
// operation's scopes, or sp:scopes:all.
func Allows(tokenScopes, operationScopes []string) bool {
	for _, s := range tokenScopes {
		if s == ScopeAll {
			return true
		}
		for _, o := range operationScopes {
			if s == o {
				return true
			}
		}
	}
	return false
}

// order is the rights in the order explanations name them.
var order = []Right{MyRead, MyManage, AllRead, AllManage, ManagedRead}

// Name is the right's name, as ISC names it.
func (r Right) Name() string {
	for name, right := range rightNames {
		if right == r {
			return name
		}
	}
	return ""
}

// Names lists the rights held, by name.
func (r Rights) Names() []string {
	var out []string
	for _, right := range order {
		if r.Has(right) {
			out = append(out, right.Name())
		}
	}
	return out
}

// GrantedBy says who holds a right without it being given as an extra right: every identity, or
// the user levels that grant it.
func GrantedBy(r Right) string {
	if everyoneRights&withImplied(r) == withImplied(r) {
		return "every identity"
	}
	var levels []string
	for level, rights := range levelRights {
		if withImplied(rights)&r != 0 {
			levels = append(levels, level)
		}
	}
	return "the user level " + strings.Join(levels, " or ")
}

// GrantedByName is GrantedBy for a right named, "" for what is no right.
func GrantedByName(name string) string {
	if right, ok := rightNames[name]; ok {
		return GrantedBy(right)
	}
	return ""
}
