// Browser journeys through the Credence web UI: the main workflows an administrator and a
// member perform, end to end against a real server on a fresh SQLite database. Each page
// is saved to target/screenshots/. Exits non-zero on the first failed expectation.
import { chromium } from 'playwright-core';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import assert from 'node:assert/strict';
import { xlsx } from './lib/xlsx.mjs';
import { smtpSink } from './lib/smtp.mjs';

const root = resolve(import.meta.dirname, '..');
const bin = process.env.CREDENCE_BIN || join(root, 'target/debug/credence');
const shots = join(root, 'target/screenshots');
mkdirSync(shots, { recursive: true });
const port = 18000 + Math.floor(Math.random() * 1000);
const base = `http://127.0.0.1:${port}`;
// Mail goes to a sink in this process, so a journey can follow an invitation's link.
const mail = await smtpSink();
// The public address and a key-encryption key: single sign-on registers the callback at the
// provider by its address, and stores the client secret encrypted.
const env = { ...process.env, CREDENCE_DATA_DIR: mkdtempSync(join(tmpdir(), 'credence-e2e-')), CREDENCE_TODAY: '2026-03-01', CREDENCE_LOG: 'warn',
  CREDENCE_SMTP_URL: `smtp://127.0.0.1:${mail.port}`, CREDENCE_PUBLIC_URL: base, CREDENCE_KEY_ENCRYPTION_KEY: '17'.repeat(32) };
delete env.CREDENCE_DATABASE_URL;

const cli = (args, input) => execFileSync(bin, args, { env, input, encoding: 'utf8' }).trim();
cli(['agency', 'create', '--name', 'Riverside Fire & EMS', '--slug', 'rfd', '--time-zone', 'America/Chicago']);
const token = cli(['token', 'create', '--agency', 'rfd', '--role', 'admin']);
cli(['user', 'create', '--agency', 'rfd', '--email', 'chief@rfd.test', '--role', 'admin', '--password-stdin'], 'correct horse battery\n');

const server = spawn(bin, ['serve', '--bind', `127.0.0.1:${port}`], { env, stdio: 'inherit' });
const stop = () => { server.kill('SIGTERM'); mail.close(); };
process.on('exit', stop);

async function api(method, path, body) {
  const r = await fetch(base + '/api/v1' + path, {
    method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: body && JSON.stringify(body),
  });
  const json = await r.json();
  if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(json)}`);
  return json;
}

for (let i = 0; i < 100; i++) {
  try { if ((await fetch(base + '/readyz')).ok) break; } catch { /* not up yet */ }
  await new Promise((r) => setTimeout(r, 100));
}

// The agency the journeys work in.
const station = await api('POST', '/groups', { name: 'Station 1', kind: 'station' });
const people = [['Ava', 'Smith'], ['Liam', 'Brown'], ['Noah', 'Lee'], ['Emma', 'Garcia']];
const members = [];
for (const [first, last] of people) {
  members.push(await api('POST', '/members', { first_name: first, last_name: last, email: `${first.toLowerCase()}@rfd.test`, employee_number: `E-${members.length + 101}` }));
}
await api('PUT', `/groups/${station.id}/members`, { member_ids: [members[0].id, members[1].id] });
const cpr = await api('POST', '/courses', { code: 'CPR-BLS', name: 'CPR / BLS', hours: 4, category: 'Medical', passing_grade: 80 });
const emt = await api('POST', '/credential-types', { code: 'EMT-B', name: 'EMT-Basic', validity_months: 24, renewal: 'auto',
  requirements: [{ kind: 'course', course_id: cpr.id }, { kind: 'hours', hours: 8, category: 'CE' }] });
await api('POST', `/credential-types/${emt.id}/publish`, {});
const fi = await api('POST', '/credential-types', { code: 'FI-1', name: 'Fire Instructor I', validity_months: 36, renewal: 'manual' });
await api('POST', `/credential-types/${fi.id}/publish`, {});
await api('POST', '/assignments', { credential_type_id: fi.id, mode: 'active_with_period', issue_date: '2023-02-01', member_ids: [members[2].id, members[3].id] });
cli(['user', 'create', '--agency', 'rfd', '--email', 'ava.login@rfd.test', '--role', 'member', '--member', 'ava@rfd.test', '--password-stdin'], 'ava password 123\n');
cli(['user', 'create', '--agency', 'rfd', '--email', 'liam.login@rfd.test', '--role', 'member', '--member', 'liam@rfd.test', '--password-stdin'], 'liam password 123\n');

const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
let step = 0;
const shot = async (page, name) => { step += 1; await page.screenshot({ path: join(shots, `${String(step).padStart(2, '0')}-${name}.png`), fullPage: true }); };
const notice = async (page) => (await page.locator('.notice, .error').first().textContent()).trim();

try {
  const page = await (await browser.newContext({ viewport: { width: 1280, height: 860 } })).newPage();

  // Log in.
  await page.goto(base + '/credentials');
  assert.match(page.url(), /\/login/);
  await shot(page, 'login');
  await page.fill('#email', 'chief@rfd.test');
  await page.fill('#password', 'wrong password!');
  await page.click('button[type=submit]');
  assert.match(await page.locator('.error').textContent(), /do not match/);
  await page.fill('#password', 'correct horse battery');
  await page.click('button[type=submit]');
  await page.waitForURL(/\/credentials/);

  // Assign a type to a group (seed 000): the picker filtered by the group, all matching.
  await page.goto(base + '/credentials/assign');
  await page.selectOption('#type', emt.id);
  await page.fill('#pe', '2026-12-31');
  await page.selectOption('#pick-group', station.id);
  await page.waitForFunction(() => document.querySelector('[data-pick-total]').textContent === '2');
  await page.check('[data-pick-all]');
  assert.equal(await page.textContent('[data-pick-count]'), 'All 2 matching');
  await shot(page, 'assign');
  await page.click('button[name=save]');
  assert.match(await notice(page), /Assigned EMT-Basic to 2 member/);
  await shot(page, 'assign-result');

  // Record training until Ava's credential is Ready to Be Issued.
  await page.goto(base + `/members/${members[0].id}`);
  await page.selectOption('#course', cpr.id);
  await page.fill('#score', '92');
  await page.click('form[action$="/training"] button');
  assert.match(await notice(page), /Training recorded/);
  await page.fill('#hours', '8');
  await page.fill('#cat', 'CE');
  await page.click('form[action$="/training"] button');
  assert.match(await page.textContent('main'), /Ready to Be Issued/);
  await shot(page, 'member-ready');

  // Issue it.
  await page.click('main h2 a:has-text("EMT-Basic")');
  await shot(page, 'credential-ready');
  await page.click('form[action$="/issue"] button');
  assert.match(await notice(page), /Issued: Active – Renewal in Progress/);
  await shot(page, 'credential-issued');

  // Bulk update dates for the two Fire Instructor credentials.
  await page.goto(base + `/credentials?credential_type_id=${fi.id}`);
  await page.check('[data-select-all]');
  await page.click('button[name=action][value=update]');
  await page.fill('input[name=issue_date]', '2026-03-01');
  await shot(page, 'bulk-update');
  await page.click('form[action="/credentials/action"] button[type=submit]');
  assert.match(await notice(page), /Updated 2 credential/);

  // Renew the manual type.
  await page.goto(base + `/credentials?credential_type_id=${fi.id}`);
  await page.check('[data-select-all]');
  await page.click('button[name=action][value=renew]');
  await page.fill('#ps', '2026-03-01');
  await page.fill('#pe', '2026-09-30');
  await shot(page, 'renew');
  await page.click('form[action="/credentials/action"] button[type=submit]');
  assert.match(await notice(page), /Renewed 2 credential/);
  await shot(page, 'credentials-after-renew');

  // Certificates (seed 004): request for the type's issuances, issue, then verify publicly.
  page.on('dialog', (d) => d.accept());
  await page.goto(base + '/certificates');
  await page.click('details.card summary');
  await page.selectOption('#rt', fi.id);
  await page.fill('#rf', '2026-01-01');
  await page.click('form[action="/certificates/request"] button[type=submit]');
  assert.match(await notice(page), /2 certificate\(s\) generated/);
  await page.waitForURL(/\/operations\/op_/);
  await page.goto(base + '/certificates');
  await page.check('th input[type=checkbox]');
  await page.click('button[name=action][value=issue]');
  assert.match(await notice(page), /Issued 2 certificate/);
  await shot(page, 'certificate-register');
  await page.goto(base + `/credentials?credential_type_id=${emt.id}`);
  await page.click('main table a:has-text("Smith")');
  await page.click('main h2 a:has-text("EMT-Basic")');
  await page.click('form[action="/certificates/request"] button[type=submit]');
  assert.match(await notice(page), /1 certificate\(s\) generated/);
  await page.goBack();
  await page.setInputFiles('.inline-upload input[type=file]', { name: 'written-exam.pdf', mimeType: 'application/pdf', buffer: Buffer.from('%PDF-1.4\n% exam result\n%%EOF\n') });
  await page.click('.inline-upload button');
  assert.match(await notice(page), /Attached written-exam.pdf/);
  await shot(page, 'credential-certificate-and-documents');
  await page.goto(base + '/certificate-templates');
  await page.click('main table a >> nth=0');
  await shot(page, 'certificate-template-editor');
  const issued = await api('GET', '/certificates?status=issued');
  assert.equal(issued.items.length, 2);
  await page.goto(issued.items[0].verify_url);
  assert.match(await page.textContent('main'), /Valid/);
  await shot(page, 'certificate-verification');

  // The other pages.
  await page.goto(base + '/');
  await shot(page, 'dashboard');
  await page.goto(base + '/credential-types');
  await shot(page, 'credential-types');
  await page.goto(base + `/credential-types/${emt.id}`);
  await shot(page, 'credential-type-form');
  await page.goto(base + `/renewals?credential_type_id=${fi.id}&within_days=1500&logic=same_dates&period_start=2026-04-01&period_end=2026-06-30`);
  await shot(page, 'renewal-planner');
  // Preview keeps the settings and says what each row would get (#18.8).
  await page.click('button[name=mode][value=preview]');
  assert.match(await page.textContent('main'), /Nothing was changed/);
  assert.equal(await page.inputValue('#logic'), 'same_dates');
  await shot(page, 'renewal-planner-preview');

  // A member signs in and sees only their own credentials.
  const phone = await (await browser.newContext({ viewport: { width: 390, height: 844 } })).newPage();
  await phone.goto(base + '/login');
  await phone.fill('#email', 'ava.login@rfd.test');
  await phone.fill('#password', 'ava password 123');
  await phone.click('button[type=submit]');
  await phone.waitForURL(/\/me/);
  assert.match(await phone.textContent('main'), /EMT-Basic/);
  await shot(phone, 'member-self-service-phone');
  const denied = await phone.goto(base + '/credentials');
  assert.equal(denied.status(), 403);

  // A member uploads a certificate earned elsewhere; an officer approves it.
  const liam = await (await browser.newContext({ viewport: { width: 1024, height: 800 } })).newPage();
  await liam.goto(base + '/login');
  await liam.fill('#email', 'liam.login@rfd.test');
  await liam.fill('#password', 'liam password 123');
  await liam.click('button[type=submit]');
  await liam.waitForURL(/\/me/);
  await liam.setInputFiles('#file', { name: 'cpr-card.pdf', mimeType: 'application/pdf', buffer: Buffer.from('%PDF-1.4\n% CPR card\n%%EOF\n') });
  await liam.selectOption('#course', cpr.id);
  await liam.click('form[action="/me/submissions"] button');
  assert.match(await notice(liam), /Sent cpr-card.pdf for approval/);
  await shot(liam, 'member-upload');
  await page.goto(base + '/approvals');
  assert.match(await page.textContent('main'), /cpr-card\.pdf/);
  await shot(page, 'approvals');
  // The officer types the score printed on the card (#18.7: none is invented).
  await page.fill('input[name=score]', '88');
  await page.click('button[name=decision][value=approve]');
  assert.match(await notice(page), /Approved/);
  await page.goto(base + `/members/${members[1].id}`);
  assert.match(await page.textContent('main'), /50%/);
  await shot(page, 'member-after-approval');

  // Revoke a selection: one transaction, all or nothing (POST /credentials/bulk-revoke).
  await page.goto(base + `/credentials?credential_type_id=${fi.id}`);
  await page.check('[data-select-all]');
  await page.click('button[name=action][value=revoke]');
  await page.fill('#reason', 'Failed the practical re-evaluation');
  await shot(page, 'bulk-revoke');
  // Preview first: each member with what would happen, nothing written (#18.9).
  await page.click('button[name=mode][value=preview]');
  assert.match(await notice(page), /Preview: 2 credential.*would be revoked.*Nothing was changed/);
  await shot(page, 'bulk-revoke-preview');
  await page.click('form[action="/credentials/action"] button[type=submit]');
  assert.match(await notice(page), /Revoked 2 credential/);
  await page.waitForURL(/\/operations\/op_/);
  await shot(page, 'operation');
  // Undo it, then revoke for real.
  await page.click('form[action$="/undo"] button');
  assert.match(await notice(page), /Undone: 2 credential/);
  await shot(page, 'operation-undone');
  await page.goto(base + `/credentials?credential_type_id=${fi.id}`);
  await page.check('[data-select-all]');
  await page.click('button[name=action][value=revoke]');
  await page.fill('#reason', 'Failed the practical re-evaluation');
  await page.click('form[action="/credentials/action"] button[type=submit]');
  assert.match(await notice(page), /Revoked 2 credential/);
  await page.goto(base + `/credentials?credential_type_id=${fi.id}`);
  await shot(page, 'credentials-after-revoke');
  const csv = await page.request.get(base + `/credentials.csv?credential_type_id=${fi.id}`);
  assert.equal(csv.status(), 200);
  assert.match(await csv.text(), /^member,employee_number,groups,credential_type,status,/);
  assert.match(await csv.text(), /Revoked/);

  // Users: an admin sees the API tokens and revokes one (the CLI made them above).
  cli(['token', 'create', '--agency', 'rfd', '--role', 'auditor', '--name', 'Scheduling system', '--expires-in-days', '90']);
  await page.goto(base + '/users');
  await shot(page, 'users-tokens');
  await page.locator('tr', { hasText: 'Scheduling system' }).locator('button.danger').click();
  assert.match(await notice(page), /Token revoked/);
  const admin390 = await (await browser.newContext({ viewport: { width: 390, height: 844 } })).newPage();
  await admin390.goto(base + '/login');
  await admin390.fill('#email', 'chief@rfd.test');
  await admin390.fill('#password', 'correct horse battery');
  await admin390.click('button[type=submit]');
  await admin390.waitForURL((u) => !u.pathname.startsWith('/login'));
  await admin390.goto(base + '/users');
  await shot(admin390, 'users-tokens-phone');
  await admin390.goto(base + '/operations');
  await shot(admin390, 'operations-phone');
  await admin390.goto(base + '/');
  await shot(admin390, 'dashboard-phone');
  await admin390.goto(base + `/renewals?credential_type_id=${fi.id}&within_days=1500`);
  await shot(admin390, 'renewal-planner-phone');

  // Who was qualified on a date (#18 item 4), answered from history: today's revocation of
  // the Fire Instructor cards does not reach back to January.
  await page.goto(base + '/reports');
  await page.click('main a:has-text("Qualified on a date")');
  await page.selectOption('#type', fi.id);
  await page.fill('#on', '2026-01-15');
  await page.click('form.filters button[type=submit]');
  assert.match(await page.textContent('main'), /2 of 2 held Fire Instructor I on 2026-01-15/);
  await shot(page, 'qualified-on-a-date');
  const qualifiedCsv = await page.request.get(base + await page.getAttribute('a:has-text("Download CSV")', 'href'));
  assert.match(await qualifiedCsv.text(), /^on,credential_type,group,member,employee_number,holds,/);
  await page.fill('#on', '2026-03-01');
  await page.click('form.filters button[type=submit]');
  assert.match(await page.textContent('main'), /0 of 2 held Fire Instructor I on 2026-03-01/);
  // A crew on a day: Station 1's members, one of them without the credential.
  await admin390.goto(base + `/reports/qualified?credential_type_id=${emt.id}&on=2026-03-01&group_id=${station.id}`);
  assert.match(await admin390.textContent('main'), /1 of 2 held EMT-Basic on 2026-03-01 in Station 1/);
  await shot(admin390, 'qualified-on-a-date-phone');

  await onboardADepartment();
  await whoCanRideEngine1(page, admin390);
  await signInThroughTheProvider();
  // Run a drill (#17): a class for B shift, its roster taken from the group, scores typed in
  // the grid, completed; a member's progress bar moves on their credential; certificates
  // generated from the class and merged for printing.
  const bShift = await api('POST', '/groups', { name: 'B Shift', kind: 'shift' });
  await api('PUT', `/groups/${bShift.id}/members`, { member_ids: [members[2].id, members[3].id] });
  const drillCourse = await api('POST', '/courses', { code: 'HAZ-DRILL', name: 'Hazmat Decon Drill', hours: 3, category: 'Drill', passing_grade: 70 });
  await api('POST', '/courses', { code: 'EVOC', name: 'Emergency Vehicle Operations', hours: 16, category: 'Driver' });
  const hazOps = await api('POST', '/credential-types', { code: 'HAZ-OPS', name: 'Hazmat Operations', validity_months: 24, renewal: 'auto',
    requirements: [{ kind: 'course', course_id: drillCourse.id }] });
  await api('POST', `/credential-types/${hazOps.id}/publish`, {});
  await api('POST', '/assignments', { credential_type_id: hazOps.id, mode: 'completion_period', period_start: '2026-01-01', period_end: '2026-12-31', group_ids: [bShift.id] });
  const noahCred = (await api('GET', `/credentials?member_id=${members[2].id}&credential_type_id=${hazOps.id}`)).items[0];
  await page.goto(base + `/credentials/${noahCred.id}`);
  assert.match(await page.textContent('main'), /Not Started/);
  await shot(page, 'drill-credential-before');

  await page.goto(base + '/courses');
  await shot(page, 'courses');
  await page.fill('#q', 'hazmat');
  await page.click('form.filters button[type=submit]');
  assert.match(await page.textContent('main table'), /Hazmat Decon Drill/);
  assert.doesNotMatch(await page.textContent('main table'), /Emergency Vehicle/);
  await page.goto(base + '/classes');
  // The course picker searches as one types.
  await page.fill('input.select-search', 'decon');
  await page.selectOption('#course', drillCourse.id);
  await page.fill('#held_on', '2026-02-27');
  await page.fill('#instructor', 'Capt. Ruiz');
  await page.fill('#location', 'Station 1 apparatus bay');
  await page.fill('#capacity', '12');
  await page.click('form[action="/classes"] button[type=submit]');
  await page.waitForURL(/\/classes\/cls_/);
  assert.match(await notice(page), /is scheduled/);
  const classUrl = page.url();
  await page.selectOption('#group', bShift.id);
  await page.click('form[action$="/roster/add"] >> text=Add group');
  assert.match(await notice(page), /2 members joined the roster/);
  await admin390.goto(classUrl);
  await shot(admin390, 'class-grid-phone');
  await page.fill('input[aria-label="Score of Lee, Noah"]', '94');
  await page.fill('input[aria-label="Score of Garcia, Emma"]', '81');
  await shot(page, 'class-results-grid');
  await page.click('form.results button:has-text("Complete class")');
  assert.match(await notice(page), /Completed: 2 training record/);
  await shot(page, 'class-completed');
  await page.goto(base + `/credentials/${noahCred.id}`);
  assert.match(await page.textContent('main'), /Ready to Be Issued/);
  assert.match(await page.textContent('main'), /100%/);
  await shot(page, 'drill-credential-after');
  await page.click('form[action$="/issue"] button');
  assert.match(await notice(page), /Issued/);
  await page.goto(classUrl);
  await page.click('form[action="/certificates/request"] button[type=submit]');
  assert.match(await notice(page), /1 certificate\(s\) generated/);
  assert.match(await page.textContent('#certificates'), /Noah Lee/);
  await shot(page, 'class-certificates');
  const certId = await page.getAttribute('#certificates input[name=certificate_id]', 'value');
  const csrf = await page.getAttribute('#certificates input[name=csrf]', 'value');
  const merged = await page.request.post(base + '/certificates/action', { form: { csrf, action: 'merge', certificate_id: certId } });
  assert.equal(merged.status(), 200);
  assert.equal(merged.headers()['content-type'], 'application/pdf');
  assert.equal((await merged.body()).subarray(0, 4).toString(), '%PDF');
  await admin390.goto(base + '/courses');
  await shot(admin390, 'courses-phone');
  await admin390.goto(base + '/classes');
  await shot(admin390, 'classes-phone');
  await admin390.goto(classUrl);
  await shot(admin390, 'class-phone');
  await page.goto(base + '/classes');
  await shot(page, 'classes');

  console.log(`all journeys passed; ${step} screenshots in ${shots}`);
} finally {
  await browser.close();
  stop();
}

// Onboard a department from nothing: a new agency's admin imports the members from a
// spreadsheet, makes a group of them and invites an officer, who chooses a password, signs
// in, assigns a credential to the whole group with the member picker and records training.
async function onboardADepartment() {
  cli(['agency', 'create', '--name', 'Lakeside Volunteer Fire', '--slug', 'lvf', '--time-zone', 'America/Chicago']);
  cli(['user', 'create', '--agency', 'lvf', '--email', 'chief@lvf.test', '--role', 'admin', '--password-stdin'], 'lakeside chief 2026\n');
  // The catalog is not this journey's subject: one course and one type through the API.
  const lvfToken = cli(['token', 'create', '--agency', 'lvf', '--role', 'admin']);
  const lvf = async (method, path, body) => {
    const r = await fetch(base + '/api/v1' + path, { method, headers: { authorization: `Bearer ${lvfToken}`, 'content-type': 'application/json' }, body: body && JSON.stringify(body) });
    const json = await r.json();
    if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(json)}`);
    return json;
  };
  const pump = await lvf('POST', '/courses', { code: 'PUMP-101', name: 'Pump Operations', hours: 6, category: 'Apparatus' });
  const driver = await lvf('POST', '/credential-types', { code: 'DO', name: 'Driver/Operator', validity_months: 24, renewal: 'manual',
    requirements: [{ kind: 'course', course_id: pump.id }, { kind: 'hours', hours: 12, category: 'Drills' }] });
  await lvf('POST', `/credential-types/${driver.id}/publish`, {});

  const signIn = async (viewport, email, password) => {
    const p = await (await browser.newContext({ viewport })).newPage();
    p.on('dialog', (d) => d.accept());
    await p.goto(base + '/login');
    await p.fill('#email', email);
    await p.fill('#password', password);
    await p.click('button[type=submit]');
    await p.waitForURL((u) => !u.pathname.startsWith('/login'));
    return p;
  };
  const chief = await signIn({ width: 1280, height: 860 }, 'chief@lvf.test', 'lakeside chief 2026');
  const chiefPhone = await signIn({ width: 390, height: 844 }, 'chief@lvf.test', 'lakeside chief 2026');

  // Import the roster from XLSX: preview, then commit.
  const roster = [['first_name', 'last_name', 'email', 'employee_number'],
    ['Ada', 'Okafor', 'ada@lvf.test', 'L-01'], ['Ben', 'Ito', 'ben@lvf.test', 'L-02'], ['Cora', 'Walsh', 'cora@lvf.test', 'L-03'],
    ['Dev', 'Patel', 'dev@lvf.test', 'L-04'], ['Eli', 'Novak', 'eli@lvf.test', 'L-05'], ['Fay', "O'Brien", 'fay@lvf.test', 'L-06']];
  await chief.goto(base + '/imports');
  await chief.check('input[name=kind][value=members]');
  await chief.setInputFiles('#import-file', { name: 'lakeside-roster.xlsx', mimeType: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet', buffer: xlsx(roster, 'Roster') });
  await chief.click('form.import-form button[type=submit]');
  await chief.waitForURL(/\/imports\/imp_/);
  assert.match(await chief.textContent('dl.counts'), /To create\s*6/);
  await shot(chief, 'onboard-import-preview');
  await chief.click('form[action$="/commit"] button');
  assert.match(await chief.textContent('main'), /Committed/);

  // A group, and everyone imported in it through the picker's "add all matching".
  await chief.goto(base + '/groups');
  await chief.fill('#name', 'Engine 7');
  await chief.selectOption('#kind', 'station');
  await chief.click('form[action="/groups"] button[type=submit]');
  await chief.waitForURL(/\/groups\/grp_/);
  assert.equal(await chief.textContent('[data-pick-total]'), '6');
  await chief.check('[data-pick-all]');
  await chief.click('button[name=add]');
  assert.match(await notice(chief), /6 members joined Engine 7/);

  // Invite an officer; the link arrives by mail.
  await chief.goto(base + '/users');
  await chief.fill('#inv-email', 'officer@lvf.test');
  await chief.selectOption('#inv-role', 'officer');
  await chief.click('#invite button[type=submit]');
  assert.match(await notice(chief), /officer@lvf\.test/);
  const letter = await mail.waitFor('officer@lvf.test', /\/invitations\//);
  const link = letter.match(/\/invitations\/[A-Za-z0-9_-]+/)[0];
  const officer = await (await browser.newContext({ viewport: { width: 1280, height: 860 } })).newPage();
  await officer.goto(base + link);
  await officer.fill('#password', 'engine seven officer');
  await officer.fill('#confirm', 'engine seven officer');
  await officer.click('button[type=submit]');
  await officer.waitForURL(/\/login/);
  await officer.fill('#email', 'officer@lvf.test');
  await officer.fill('#password', 'engine seven officer');
  await officer.click('button[type=submit]');
  await officer.waitForURL((u) => !u.pathname.startsWith('/login'));

  // The officer assigns Driver/Operator to Engine 7 with the picker.
  await officer.goto(base + '/credentials/assign');
  await officer.selectOption('#type', driver.id);
  await officer.fill('#pe', '2026-09-30');
  await officer.fill('#pick-q', 'o');
  await officer.waitForFunction(() => document.querySelectorAll('[data-pick-rows] li').length < 6);
  await officer.locator('[data-pick-rows] input[type=checkbox]').first().check();
  assert.equal(await officer.textContent('[data-pick-count]'), '1 chosen');
  await officer.fill('#pick-q', '');
  const engine = await officer.locator('#pick-group option', { hasText: 'Engine 7' }).getAttribute('value');
  await officer.selectOption('#pick-group', engine);
  await officer.waitForFunction(() => document.querySelectorAll('[data-pick-rows] li').length === 6);
  await officer.check('[data-pick-all]');
  assert.equal(await officer.textContent('[data-pick-count]'), 'All 6 matching, plus 1 ticked');
  await shot(officer, 'picker');
  const officerPhone = await (await browser.newContext({ viewport: { width: 390, height: 844 } })).newPage();
  await officerPhone.context().addCookies(await officer.context().cookies());
  await officerPhone.goto(base + `/credentials/assign?credential_type_id=${driver.id}&group_id=${engine}`);
  await officerPhone.locator('[data-pick-rows] input[type=checkbox]').nth(1).check();
  await shot(officerPhone, 'picker-phone');
  await officer.click('button[name=save]');
  assert.match(await notice(officer), /Assigned Driver\/Operator to 6 member/);
  await shot(officer, 'onboard-assign-result');

  // Training for one member moves their progress.
  await officer.goto(base + '/members?q=okafor');
  await officer.click('main table a:has-text("Okafor")');
  assert.match(await officer.textContent('main'), /Not Started/);
  await officer.selectOption('#course', pump.id);
  await officer.click('form[action$="/training"] button');
  assert.match(await notice(officer), /Training recorded/);
  assert.match(await officer.textContent('main'), /50%/);
  await shot(officer, 'onboard-progress');

  // What an admin of the new agency sees of it.
  for (const [p, suffix] of [[chief, ''], [chiefPhone, '-phone']]) {
    for (const path of ['/settings', '/outbox', '/audit']) {
      await p.goto(base + path);
      await shot(p, `onboard${path.replace('/', '-')}${suffix}`);
    }
  }
  // The phone menu opens and reaches the Agency pages.
  await chiefPhone.click('label.nav-button');
  await chiefPhone.click('details.agency-menu:has(a[href="/groups"]) summary');
  await shot(chiefPhone, 'onboard-menu-phone');
  await chiefPhone.click('details.agency-menu a[href="/groups"]');
  await chiefPhone.waitForURL(/\/groups$/);
}

// Who can ride Engine 1 tonight? (#20): the training officer names the qualification once in
// the browser, then asks the readiness page per crew and day. Only a valid, unrevoked
// issuance on that day counts: an expired CPR card and a revoked EVOC each leave a gap, and
// the answer changes on a later day when a card runs out.
async function whoCanRideEngine1(page, phone) {
  const type = async (code, name) => {
    const t = await api('POST', '/credential-types', { code, name, validity_months: 24, renewal: 'manual' });
    await api('POST', `/credential-types/${t.id}/publish`, {});
    return t;
  };
  const [driver, evoc, cprCard] = [await type('DO', 'Driver/Operator'), await type('EVOC', 'EVOC'), await type('CPR', 'CPR Provider')];
  const engine1 = await api('POST', '/groups', { name: 'Engine 1', kind: 'other' });
  const crew = {};
  for (const [first, last] of [['Kai', 'Moreno'], ['Mia', 'Chen'], ['Omar', 'Haddad'], ['Zoe', 'Park']]) {
    crew[first] = await api('POST', '/members', { first_name: first, last_name: last, email: `${first.toLowerCase()}.e1@rfd.test` });
  }
  await api('PUT', `/groups/${engine1.id}/members`, { member_ids: Object.values(crew).map((m) => m.id) });
  const held = (t, names, issue, expiration) => api('POST', '/assignments', { credential_type_id: t.id, mode: 'active_with_period',
    issue_date: issue, expiration_date: expiration, member_ids: names.map((n) => crew[n].id) });
  await held(driver, ['Kai', 'Mia', 'Omar'], '2025-05-01', '2027-05-01');
  await held(evoc, ['Kai', 'Mia', 'Omar', 'Zoe'], '2025-06-01', '2027-06-01');
  // Kai's CPR card runs out in two weeks; Mia's ran out last year.
  await held(cprCard, ['Kai'], '2024-03-15', '2026-03-15');
  await held(cprCard, ['Omar', 'Zoe'], '2025-09-01', '2027-09-01');
  await held(cprCard, ['Mia'], '2023-01-10', '2025-01-10');
  const omarEvoc = (await api('GET', `/credentials?member_id=${crew.Omar.id}&credential_type_id=${evoc.id}`)).items[0];
  await api('POST', '/credentials/bulk-revoke', { credential_ids: [omarEvoc.id], reason: 'Licence suspended' });

  // The qualification, named in the browser.
  await page.goto(base + '/qualifications');
  await page.fill('#name', 'Engine 1 driver');
  for (const t of [driver, evoc, cprCard]) await page.check(`input[name=credential_type_ids][value="${t.id}"]`);
  await page.check('input[name=rule][value=all]');
  await shot(page, 'qualification-new');
  await page.click('form[action="/qualifications"] button[type=submit]');
  // Adding it answers at once for the whole agency; then the crew is chosen.
  await page.waitForURL(/\/readiness\?qualification_id=/);
  assert.match(await page.textContent('main'), /as Engine 1 driver on 2026-03-01/);

  // Tonight: only Kai.
  await page.selectOption('#group', engine1.id);
  await page.fill('#on', '2026-03-01');
  await page.click('form.filters button[type=submit]');
  assert.match(await page.textContent('main'), /1 of 4 qualified as Engine 1 driver in Engine 1 on 2026-03-01/);
  const row = async (p, who) => (await p.locator('table.readiness tr', { hasText: who }).textContent()).replace(/\s+/g, ' ');
  assert.match(await row(page, 'Moreno, Kai'), /Yes/);
  assert.match(await row(page, 'Chen, Mia'), /No.*CPR Provider/);
  assert.match(await row(page, 'Haddad, Omar'), /No.*EVOC/);
  assert.match(await row(page, 'Park, Zoe'), /No.*Driver\/Operator/);
  await shot(page, 'readiness-engine-1');
  const qualification = new URL(page.url()).searchParams.get('qualification_id');
  const pdf = await page.request.get(base + await page.getAttribute('a:has-text("PDF roster")', 'href'));
  assert.equal(pdf.headers()['content-type'], 'application/pdf');
  assert.equal((await pdf.body()).subarray(0, 4).toString(), '%PDF');

  // A scheduler asks the same through the API, for one person.
  const kai = await api('GET', `/members/${crew.Kai.id}/qualified?qualification_id=${qualification}&on=2026-03-01`);
  assert.deepEqual(kai, { on: '2026-03-01', qualified: true, missing: [] });
  const mia = await api('GET', `/members/${crew.Mia.id}/qualified?qualification_id=${qualification}&on=2026-03-01`);
  assert.deepEqual([mia.qualified, mia.missing], [false, [cprCard.id]]);

  // In three weeks Kai's CPR card has run out: nobody can ride.
  await phone.goto(base + `/readiness?qualification_id=${qualification}&group_id=${engine1.id}&on=2026-03-22`);
  assert.match(await phone.textContent('main'), /0 of 4 qualified/);
  assert.match(await row(phone, 'Moreno, Kai'), /No.*CPR Provider/);
  await shot(phone, 'readiness-engine-1-phone');
}

// Single sign-on (#21): Riverside's admin names its identity provider (a real OpenID provider,
// npm's oidc-provider, run here on loopback), and an officer signs in through it from the
// sign-in page's button, with no Credence password.
async function signInThroughTheProvider() {
  const providerPort = port + 1000;
  const provider = spawn(process.execPath, [join(root, 'e2e/oidc-provider.mjs'), String(providerPort), `${base}/login/oidc/callback`], { stdio: ['ignore', 'pipe', 'ignore'] });
  try {
    await new Promise((ready, failed) => {
      provider.stdout.on('data', (d) => { if (String(d).includes('ready')) ready(); });
      provider.on('exit', (code) => failed(new Error(`oidc-provider exited with ${code}`)));
    });
    cli(['user', 'create', '--agency', 'rfd', '--email', 'alice@test.example', '--role', 'officer', '--password-stdin'], 'alice never uses this\n');
    for (const [viewport, suffix] of [[{ width: 1280, height: 860 }, ''], [{ width: 390, height: 844 }, '-phone']]) {
      const admin = await (await browser.newContext({ viewport })).newPage();
      await admin.goto(base + '/login');
      await admin.fill('#email', 'chief@rfd.test');
      await admin.fill('#password', 'correct horse battery');
      await admin.click('button[type=submit]');
      await admin.waitForURL((u) => !u.pathname.startsWith('/login'));
      await admin.goto(base + '/settings/sign-in');
      if (!suffix) {
        await admin.fill('#f-name', 'Riverside SSO');
        await admin.fill('#f-issuer', `http://127.0.0.1:${providerPort}`);
        await admin.fill('#f-client_id', 'credence');
        await admin.fill('#f-client_secret', 'credence-test-secret');
        await admin.click('form.sso-form button[type=submit]');
        assert.match(await notice(admin), /Single sign-on saved/);
        assert.equal(await admin.inputValue('#f-client_secret'), '', 'the secret is never shown back');
      }
      await shot(admin, `sso-settings${suffix}`);
      await admin.context().close();
    }
    for (const [viewport, suffix] of [[{ width: 1280, height: 860 }, ''], [{ width: 390, height: 844 }, '-phone']]) {
      const officer = await (await browser.newContext({ viewport })).newPage();
      await officer.goto(base + '/login?agency=rfd');
      await shot(officer, `sso-login${suffix}`);
      await officer.click('a.login-sso:has-text("Sign in with Riverside SSO")');
      await officer.waitForURL(base + '/');
      assert.match(await officer.textContent('header'), /alice@test\.example/);
      await officer.context().close();
    }
  } finally {
    provider.kill('SIGTERM');
  }
}
