-- file_project_report: files one project monthly report in one call (services/api/reports/service.py).
--
-- This file is the function's one source: migration 20261201_0010 creates it from this text and
-- tests/api/test_filing_sql.py checks that the database runs exactly it. To change the function,
-- edit this file and add a migration that calls services.api.reports.filing_sql.apply().
--
-- o_chased: a notice chain was chasing the period; the outbox row telling the notifier is written.
--
-- Outcomes: not_visible (404), program_closed (409: the office closed the program's year),
-- not_approved (409, with o_status), invalid (422: the caller found a
-- fault itself, or the period lies outside the program's year or the project's months, a milestone
-- is unknown or the investment to date beyond the total; the facts to say so are returned), needs_deadline (the memo has no
-- deadline for this stamp: compute it for o_settings and call again with it), filed.
--
-- p_now is when the report was filed: the clock's now, or for history the office records, the
-- original filing time (p_by_office); p_recorded_at is when this call records it (the audit row).
--
-- Rules with a twin in Python (each twin names this file; tests tie them):
-- * visibility: a project is visible when its region, responsible or owner unit lies in the
--   caller's subtree — services.api.auth.scope.condition(Project, …)
--   (tests/api/test_reports.py::test_who_may_file_is_who_sees_the_project);
-- * validity: the period outside the program's year or before the project's start or after its
--   end, an unknown milestone, the investment to date beyond the total — services.api.reports.service._faults, which words them;
-- * the investment to date is the sum of each period's latest version —
--   shared.report_facts.latest_versions / investment (tests/api/test_filing_sql.py).
CREATE OR REPLACE FUNCTION file_project_report(
    p_project_id uuid, p_unit_path text, p_period text, p_investment numeric, p_progress numeric,
    p_milestones jsonb, p_coordination jsonb, p_note text, p_report_id uuid, p_by text,
    p_now timestamptz, p_actor_kind text, p_actor_id text, p_after jsonb, p_request_id text,
    p_valid boolean, p_due_stamp text, p_due_at timestamptz, p_due_complete boolean,
    p_recorded_at timestamptz, p_by_office boolean,
    OUT o_outcome text, OUT o_status text, OUT o_start_date date, OUT o_total_investment numeric,
    OUT o_program_id uuid, OUT o_responsible_unit_id uuid, OUT o_settings text, OUT o_stamp text,
    OUT o_milestones text[], OUT o_to_date numeric, OUT o_version integer,
    OUT o_due_at timestamptz, OUT o_due_complete boolean, OUT o_late boolean,
    OUT o_submitted_at timestamptz, OUT o_year integer, OUT o_end_date date, OUT o_chased boolean
) LANGUAGE plpgsql AS $$
DECLARE
    v_year integer := substr(p_period, 1, 4)::integer;
    v_closed boolean;
BEGIN
    -- The project's row, locked: one filing per project at a time.
    SELECT p.status, g.closed_at IS NOT NULL INTO o_status, v_closed
      FROM project p JOIN program g ON g.id = p.program_id
     WHERE p.id = p_project_id
       AND EXISTS (SELECT 1 FROM unit u
                    WHERE u.id IN (p.region_unit_id, p.responsible_unit_id, p.owner_unit_id)
                      AND starts_with(u.path, p_unit_path))
       FOR UPDATE OF p;
    IF NOT FOUND THEN
        o_outcome := 'not_visible';
        RETURN;
    END IF;
    IF v_closed THEN
        o_outcome := 'program_closed';
        RETURN;
    END IF;
    IF o_status <> 'approved' THEN
        o_outcome := 'not_approved';
        RETURN;
    END IF;

    SELECT p.start_date, p.end_date, g.year, p.total_investment, p.program_id, p.responsible_unit_id,
           g.settings::text,
           md5(g.settings::text) || '|' || coalesce(
               (SELECT string_agg(c.year || '@' || c.updated_at, ',' ORDER BY c.year)
                  FROM calendar_year c WHERE c.year BETWEEN v_year AND v_year + 1), '')
      INTO o_start_date, o_end_date, o_year, o_total_investment, o_program_id, o_responsible_unit_id,
           o_settings, o_stamp
      FROM project p JOIN program g ON g.id = p.program_id
     WHERE p.id = p_project_id;

    -- The latest version of every other period counts towards the investment to date.
    SELECT coalesce(sum(latest.investment_month), 0) + p_investment INTO o_to_date
      FROM (SELECT DISTINCT ON (r.period) r.investment_month FROM project_report r
             WHERE r.project_id = p_project_id AND (r.period < p_period OR r.period > p_period)
             ORDER BY r.period, r.version DESC) latest;

    IF jsonb_array_length(p_milestones) > 0 THEN
        o_milestones := ARRAY(SELECT m.name FROM milestone m
                               WHERE m.project_id = p_project_id ORDER BY m.position, m.name);
    END IF;
    IF NOT p_valid
       OR p_period < to_char(o_start_date, 'YYYY-MM')
       OR p_period > to_char(o_end_date, 'YYYY-MM')
       OR v_year <> o_year
       OR o_to_date > o_total_investment
       OR EXISTS (SELECT 1 FROM jsonb_array_elements(p_milestones) x
                   WHERE NOT (x ->> 'name') = ANY (o_milestones)) THEN
        o_outcome := 'invalid';
        RETURN;
    END IF;

    IF p_due_stamp IS NOT NULL AND p_due_stamp = o_stamp THEN
        -- computed by the caller for exactly these settings and calendar years: keep it
        o_due_at := p_due_at;
        o_due_complete := p_due_complete;
        INSERT INTO report_deadline AS d (program_id, kind, period, stamp, due_at, due_complete)
        VALUES (o_program_id, 'project_monthly', p_period, o_stamp, o_due_at, o_due_complete)
        ON CONFLICT (program_id, kind, period) DO UPDATE
           SET stamp = EXCLUDED.stamp, due_at = EXCLUDED.due_at, due_complete = EXCLUDED.due_complete;
    ELSE
        SELECT d.due_at, d.due_complete INTO o_due_at, o_due_complete FROM report_deadline d
         WHERE d.program_id = o_program_id AND d.kind = 'project_monthly'
           AND d.period = p_period AND d.stamp = o_stamp;
        IF NOT FOUND THEN
            o_outcome := 'needs_deadline';
            RETURN;
        END IF;
    END IF;

    SELECT r.version, greatest(p_now, r.submitted_at) INTO o_version, o_submitted_at
      FROM project_report r WHERE r.project_id = p_project_id AND r.period = p_period
     ORDER BY r.version DESC LIMIT 1;
    o_version := coalesce(o_version, 0) + 1;
    o_submitted_at := coalesce(o_submitted_at, p_now);
    o_late := coalesce(o_submitted_at > o_due_at, false);
    INSERT INTO project_report (id, project_id, program_id, period, version, investment_month,
                                investment_to_date, progress_percent, milestones, coordination, note,
                                due_at, due_complete, late, submitted_by, submitted_at, recorded_by_office)
    VALUES (p_report_id, p_project_id, o_program_id, p_period, o_version, p_investment,
            o_to_date, p_progress, p_milestones, p_coordination, p_note,
            o_due_at, o_due_complete, o_late, p_by, o_submitted_at, p_by_office);
    UPDATE milestone m SET actual_date = (x ->> 'actual_date')::date
      FROM jsonb_array_elements(p_milestones) x
     WHERE m.project_id = p_project_id AND m.name = x ->> 'name';
    INSERT INTO audit_log (occurred_at, actor_kind, actor_id, action, entity, entity_id, unit_id,
                           before, after, request_id)
    VALUES (p_recorded_at, p_actor_kind, p_actor_id, 'project.report', 'project_report', p_report_id::text,
            o_responsible_unit_id, NULL,
            p_after || jsonb_build_object('version', o_version, 'investment_to_date', o_to_date::text),
            p_request_id);
    -- A notice chain chasing this period ends at once: the notifier closes it on this outbox
    -- message (the sweep would too, later). The key is notice_chain's unique one.
    o_chased := false;
    IF o_version = 1 AND EXISTS (SELECT 1 FROM notice_chain c
                                  WHERE c.rule = 'report_due' AND c.subject_type = 'project'
                                    AND c.subject_id = p_project_id AND c.period = p_period
                                    AND c.state = 'open') THEN
        INSERT INTO outbox (id, producer, target, job, payload, attempts)
        VALUES (gen_random_uuid(), 'api', 'notifier', 'report_filed',
                jsonb_build_object('subject_type', 'project', 'subject_id', p_project_id,
                                   'period', p_period, 'filed_at', o_submitted_at), 0);
        o_chased := true;
    END IF;
    o_outcome := 'filed';
END
$$;
