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
	// PermSignoff: decide on a release for the role one holds (the
	// release says which roles it requires).
	PermSignoff Permission = "signoff"
	// PermRisk: add and edit the team's risk register.
	PermRisk Permission = "risk"
	// PermThreatModel: edit the threat models of the team's models.
	PermThreatModel Permission = "threat-model"
	// PermIncident: open incidents, attach affected versions, mark them
	// detected, contained, resolved.
	PermIncident Permission = "incident"
	// PermIncidentNote: add to an incident's timeline.
	PermIncidentNote Permission = "incident-note"
	// PermDrill: schedule, start and close drills.
	PermDrill Permission = "drill"
	// PermTraining: add courses and record completions.
	PermTraining Permission = "training"
	// PermProcurement: review third-party AI and decide.
	PermProcurement Permission = "procurement"
	// PermSigners: manage the signers the team's verify jobs trust.
	PermSigners Permission = "signers"
)

// RolePermissions is who holds each permission: the one place roles become
// rights. A permission not listed for a role is refused.
var RolePermissions = map[Permission][]Role{
	PermRead:        Roles(),
	PermWrite:       {RoleAdmin, RoleMLEngineer, RoleSecurity},
	PermTriage:      {RoleAdmin, RoleSecurity},
	PermAdmin:       {RoleAdmin},
	PermSignoff:     {RoleMLEngineer, RoleSecurity, RoleSME, RoleLegalCompliance, RoleHR, RoleProcurement},
	PermTraining:    {RoleAdmin, RoleHR},
	PermProcurement: {RoleProcurement},
	PermRisk:        {RoleAdmin, RoleSecurity, RoleSME, RoleLegalCompliance, RoleHR, RoleProcurement},
	PermThreatModel: {RoleAdmin, RoleMLEngineer, RoleSecurity},
	PermIncident:    {RoleAdmin, RoleMLEngineer, RoleSecurity},
	// Incidents: legal and compliance, subject-matter experts, HR and
	// procurement record notifications, assessments, vendor contacts.
	PermIncidentNote: {RoleAdmin, RoleMLEngineer, RoleSecurity, RoleSME, RoleLegalCompliance, RoleHR, RoleProcurement},
	PermDrill:        {RoleAdmin, RoleSecurity},
	PermSigners:      {RoleAdmin, RoleSecurity},
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
