package store

// Permission is something a role lets a user or a token do in the teams
// where it holds the role. The API and the web UI both judge by it.
type Permission string

// The permissions.
const (
	PermRead   Permission = "read"   // see the team's inventory, evidence and findings
	PermWrite  Permission = "write"  // add models, versions, evidence
	PermTriage Permission = "triage" // set a finding's state
	PermAdmin  Permission = "admin"  // teams, users, tokens
)

// RolePermissions is who holds each permission: the one place roles become
// rights. A permission not listed for a role is refused.
var RolePermissions = map[Permission][]Role{
	PermRead:   Roles(),
	PermWrite:  {RoleAdmin, RoleMLEngineer, RoleSecurity},
	PermTriage: {RoleAdmin, RoleSecurity},
	PermAdmin:  {RoleAdmin},
}

// May reports whether role r holds permission p.
func (r Role) May(p Permission) bool {
	for _, x := range RolePermissions[p] {
		if x == r {
			return true
		}
	}
	return false
}
