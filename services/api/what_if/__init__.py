"""What-if for team leads (issue 13.5): the team's past weeks under the rules in force and
under a proposed rule set. Read-only over clinical data; audited; the team's staff only."""
