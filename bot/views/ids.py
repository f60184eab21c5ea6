"""Slack ids shared by the views that emit them and the handlers that receive them; rename in one place."""

COMMAND = "/clinic"

# Buttons on an action (DMs, status, Home). The value carries the action id.
ACTION_DONE = "action_done"
ACTION_ON_TRACK = "action_on_track"
ACTION_BLOCKED = "action_blocked"
ACTION_MORE_TIME = "action_more_time"
ACTION_HISTORY = "action_history"
ACTION_BUTTONS = (ACTION_DONE, ACTION_ON_TRACK, ACTION_BLOCKED, ACTION_MORE_TIME, ACTION_HISTORY)

# Buttons on an escalation to a lead or sponsor.
ESCALATION_NUDGE = "escalation_nudge"
ESCALATION_EXTEND = "escalation_extend"
ESCALATION_REASSIGN = "escalation_reassign"
ESCALATION_AGENDA = "escalation_agenda"
ESCALATION_BUTTONS = (ESCALATION_NUDGE, ESCALATION_EXTEND, ESCALATION_REASSIGN, ESCALATION_AGENDA)

# The button under what a lead put on a one-to-one agenda. The value: the agenda items' ids, comma-separated.
AGENDA_DISCUSSED = "one_on_one_discussed"

# Buttons on an extension request sent to a lead.
EXTENSION_APPROVE = "extension_approve"
EXTENSION_REFUSE = "extension_refuse"

# The Home tab.
HOME_PAGE = "home_page"  # value: the page to show
STATUS_PAGE = "status_page"  # value: which list and page (bot.status.page_value)
STATUS_BACK = "status_back"  # the same, to the page before
HOME_BACK = "home_back"  # the same, one page back (action ids in a block must differ)
HOME_CLINIC_STATUS = "home_clinic_status"  # value: the clinic id

# Modals (callback ids) and their inputs (block id == action id, so errors name the block).
NEW_CLINIC_MODAL = "clinic_new"
ADD_ACTION_MODAL = "action_add"
BLOCKED_MODAL = "action_blocked_reason"
MORE_TIME_MODAL = "action_more_time_request"
HISTORY_MODAL = "action_history_view"
EXTEND_MODAL = "escalation_extend_date"
REASSIGN_MODAL = "escalation_reassign_owner"

CLINIC_NAME = "clinic_name"
CLINIC_LEAD = "clinic_lead"
CLINIC_SPONSOR = "clinic_sponsor"
CLINIC_CHANNEL = "clinic_channel"
CLINIC_FOCUS = ("focus_1", "focus_2", "focus_3", "focus_4")
FOCUS_OUTCOME = ("outcome_1", "outcome_2", "outcome_3", "outcome_4")
FOCUS_WHY = ("why_1", "why_2", "why_3", "why_4")

ACTION_TITLE = "action_title"
ACTION_OWNER = "action_owner"
ACTION_DUE = "action_due"
ACTION_CLINIC_AREA = "action_clinic_area"
ACTION_NOTES = "action_notes"

BLOCKED_REASON = "blocked_reason"
NEW_DUE = "new_due"
MORE_TIME_REASON = "more_time_reason"
NEW_OWNER = "new_owner"

# The clinic method: editing focus areas and indicators, and reporting readings.
EDIT_CLINIC_MODAL = "clinic_edit"  # private metadata: {"clinic_id"}
INDICATOR_MODAL = "indicator_form"  # private metadata: {"area_id", "indicator_id", "parent"}
REPORT_MODAL = "indicator_report"  # private metadata: {"indicator_id"}
ADD_INDICATOR = "indicator_add"  # button in the edit modal; value: the focus area id
EDIT_INDICATOR = "indicator_edit"  # button in the edit modal; value: the indicator id
REPORT_READING = "indicator_report_open"  # button in a "time to report" DM; value: the indicator id
INDICATOR_BUTTONS = (ADD_INDICATOR, EDIT_INDICATOR, REPORT_READING)

INDICATOR_NAME = "indicator_name"
INDICATOR_KIND = "indicator_kind"
INDICATOR_UNIT = "indicator_unit"
INDICATOR_DIRECTION = "indicator_direction"
INDICATOR_BASELINE = "indicator_baseline"
INDICATOR_BASELINE_DATE = "indicator_baseline_date"
INDICATOR_TARGET = "indicator_target"
INDICATOR_TARGET_DATE = "indicator_target_date"
INDICATOR_REPORTER = "indicator_reporter"
INDICATOR_CADENCE = "indicator_cadence"
READING_VALUE = "reading_value"
READING_DATE = "reading_date"

# The message shortcut in app.yaml.
MAKE_ACTION_SHORTCUT = "make_clinic_action"
