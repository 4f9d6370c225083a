package customer

// ResolveRetries exposes the race-retry counter to the external tests.
func ResolveRetries() int64 { return resolveRetries.Load() }
