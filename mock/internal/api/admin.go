package api

import "github.com/iscmock/iscmock/mock/internal/filter"

// LastUsedFilter compiles a filters parameter on lastUsed as the list operation does, so the admin
// API answers the same questions with the same errors.
func LastUsedFilter(text string) (filter.Set, error) { return compiledFilter(text) }
