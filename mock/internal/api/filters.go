package api

import (
	"sync"

	"github.com/iscmock/iscmock/mock/internal/filter"
)

// The lastUsed filter: parsed and compiled once per distinct text.

var lastUsedField = filter.TimeField{Name: "lastUsed"}

// filterCache keeps compiled filters: clients repeat the same few, and a Set is never changed.
var filterCache struct {
	sync.Mutex
	sets map[string]filter.Set
}

const maxCachedFilters = 256

// compiledFilter parses and compiles a lastUsed filter, or says in ISC's words what is wrong.
func compiledFilter(text string) (filter.Set, error) {
	filterCache.Lock()
	set, ok := filterCache.sets[text]
	filterCache.Unlock()
	if ok {
		return set, nil
	}
	expr, err := filter.Parse(text)
	if err != nil {
		return filter.Set{}, badRequest(codeBadContent, "filters: %v.", err)
	}
	if set, err = lastUsedField.Compile(expr); err != nil {
		return filter.Set{}, badRequest(codeIllegal, "filters: %v.", err)
	}
	filterCache.Lock()
	if len(filterCache.sets) >= maxCachedFilters || filterCache.sets == nil {
		filterCache.sets = make(map[string]filter.Set, maxCachedFilters)
	}
	filterCache.sets[text] = set
	filterCache.Unlock()
	return set, nil
}
