package mock

// The embedded default tenant (fixtures/default.yaml), which a server holds unless given fixtures
// of its own: its people, and the credentials of their tokens, for tests that use it as it is.
const (
	// Alice Admin, an org admin (ORG_ADMIN), owns "CI pipeline" (scope sp:scopes:all, never
	// expires).
	DefaultAdminID           = "2c9180867b50d088017b554662fb281e"
	DefaultAdminClientID     = "86f1dc6fe8f54414950454cbb11278fa"
	DefaultAdminClientSecret = "1d1bef2b9f426383447f64f69349fc7cac176042578d205c256ba3f37c59adb9"

	// Bob Builder, an end user, owns "Local development" (bearer tokens valid 3600 s; expires
	// 2027-09-02) and the managed "Workflow: onboarding".
	DefaultUserID           = "2c9180867b50d088017b554662fb282f"
	DefaultUserClientID     = "348aa283bdc67879ef654fb8906f6f35"
	DefaultUserClientSecret = "f9c1fa39cb546fe1d7417123a7e9139ff21ef5ebaa12ba9b08f7fd4e4b249398"

	// Carol Auditor, a helpdesk user who may read every token (idn:all-personal-access-tokens:read),
	// owns "Audit export" (scope sp:all-personal-access-tokens:read).
	DefaultAuditorID           = "2c9180867b50d088017b554662fb283a"
	DefaultAuditorClientID     = "61187b19c808d285c375e19eb0920933"
	DefaultAuditorClientSecret = "73094bc04166c7ee4c87a98ec1f3219939c292387f8710c2afda1dc9ab5da547"
)
