/**
 * The report page in a real browser: a failing and a passing report are rendered in
 * headless Chromium (Debian's package at /usr/bin/chromium, driven by playwright-core,
 * which downloads no browser), and the test asserts on the DOM (matrix rows and links,
 * finding groups, decoded heat-map images, no request leaving the file) and on the size
 * of a full-page screenshot — never on the HTML text.
 *
 * Without /usr/bin/chromium the test SKIPS loudly; it FAILS instead when CI=true or
 * MOE_HARNESS_REQUIRE_GPU=1 (which turns every skip into a failure). ci/ensure-chromium.sh
 * installs the browser.
 */
import test from 'ava';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { runCampaign } from '../campaign.js';
import { caseMix } from '../caseMix.js';
import type { ReferenceCache } from '../referenceFor.js';
import { writeReport } from '../report.js';

/** Debian's Chromium; MOE_HARNESS_CHROMIUM names another executable (or a missing one, to see the skip). */
const CHROMIUM = process.env.MOE_HARNESS_CHROMIUM ?? '/usr/bin/chromium';
const FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];
const VIEWPORT = { width: 1280, height: 900 };
const have = existsSync(CHROMIUM);
const mustRun = process.env.CI === 'true' || process.env.MOE_HARNESS_REQUIRE_GPU === '1';

/** Width and height of a PNG from its IHDR chunk. */
function pngSize(png: Buffer): { width: number; height: number } {
  if (png.subarray(1, 4).toString('latin1') !== 'PNG' || png.subarray(12, 16).toString('latin1') !== 'IHDR') throw new Error('not a PNG');
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

async function withPage<T>(file: string, body: (page: Page, requests: string[]) => Promise<T>): Promise<T> {
  const profile = mkdtempSync(join(tmpdir(), 'moe-chromium-'));
  let context: BrowserContext | undefined;
  try {
    // launchPersistentContext: the fresh profile folder is Chromium's --user-data-dir.
    context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: FLAGS, viewport: VIEWPORT, offline: true });
    const page = context.pages()[0] ?? await context.newPage();
    const requests: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
    return await body(page, requests);
  } finally {
    await context?.close();
    rmSync(profile, { recursive: true, force: true });
  }
}

async function reports(): Promise<{ failing: string; passing: string; failingCases: number; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'moe-report-'));
  const cache: ReferenceCache = new Map();
  const cases = caseMix({ runs: 5, seed: 3 }).map((spec) => ({ spec }));
  const bad = await runCampaign(cases, { kernel: { kind: 'emulated', fault: 'gate_up_swapped' }, isolation: 'inline', referenceCache: cache });
  const good = await runCampaign(cases.slice(0, 1), { kernel: { kind: 'emulated' }, isolation: 'inline', referenceCache: cache });
  return {
    failing: writeReport(bad, join(dir, 'failing')).html, passing: writeReport(good, join(dir, 'passing')).html,
    failingCases: cases.length, dir,
  };
}

// What the test reads from the page: browser-side expressions (strings: this file is typed
// for Node, without the DOM library, and tsx must not rewrite code that runs in the page).
interface FailingDom {
  caseCount: string; rows: number; tacticColumns: number; badCells: number; okCells: number; links: string[]; dangling: string[];
  groups: number; fullGroups: number; diagnosis: string; groupTactics: number[];
  images: Array<{ complete: boolean; natural: number; cols: number; shown: number }>; worstRows: number; scripts: number;
}
const FAILING_DOM = `(() => {
  const q = (s) => Array.from(document.querySelectorAll(s));
  const links = q('#matrix a').map((a) => a.getAttribute('href') || '');
  return {
    caseCount: document.querySelector('#case-count')?.textContent ?? '',
    rows: q('#matrix tr[data-case]').length,
    tacticColumns: q('#matrix tr:first-child th').length - 2,
    badCells: q('#matrix td.bad').length,
    okCells: q('#matrix td.ok').length,
    links, dangling: links.filter((h) => !h.startsWith('#') || document.getElementById(h.slice(1)) === null),
    groups: q('section.group, p.gline').length,
    fullGroups: q('section.group[data-form="full"]').length,
    diagnosis: document.querySelector('#diagnosis')?.textContent ?? '',
    groupTactics: q('section.group').map((s) => (s.getAttribute('data-tactics') || '').split(' ').length),
    images: q('section.group img').map((i) => ({ complete: i.complete, natural: i.naturalWidth, cols: Number(i.dataset.cols ?? i.naturalWidth), shown: i.getBoundingClientRect().width })),
    worstRows: q('table.worst tr.el').length,
    scripts: q('script').length,
  };
})()`;

interface PassingDom {
  caseCount: string; rows: number; ok: number; bad: number; none: boolean; groups: number; diagnosisOk: boolean; charts: number[];
}
const PASSING_DOM = `({
  caseCount: document.querySelector('#case-count')?.textContent ?? '',
  rows: document.querySelectorAll('#matrix tr[data-case]').length,
  ok: document.querySelectorAll('#matrix td.ok').length,
  bad: document.querySelectorAll('#matrix td.bad, #matrix td.crash').length,
  none: document.querySelector('#no-findings') !== null,
  groups: document.querySelectorAll('section.group').length,
  diagnosisOk: document.querySelector('#diagnosis')?.classList.contains('ok') ?? false,
  charts: Array.from(document.querySelectorAll('svg')).map((s) => s.getBoundingClientRect().width),
})`;

const title = 'the report page renders in headless Chromium: a failing and a passing report (DOM and screenshot)';

if (!have && !mustRun) {
  const bar = '!'.repeat(78);
  console.warn(`\n${bar}\n!! report browser test SKIPPED: ${CHROMIUM} is missing (bash ci/ensure-chromium.sh installs it).\n!! The report page was NOT checked in a browser. CI=true makes this a failure.\n${bar}\n`);
  test.skip(`${title} — SKIPPED, ${CHROMIUM} missing`, () => undefined);
} else {
  test(title, async (t) => {
    if (!have) {
      t.fail(`${CHROMIUM} is missing, and ${process.env.CI === 'true' ? 'CI=true' : 'MOE_HARNESS_REQUIRE_GPU=1'} forbids skipping: run bash ci/ensure-chromium.sh`);
      return;
    }
    const { failing, passing, failingCases, dir } = await reports();
    try {
      const bad = await withPage(failing, async (page, requests) => {
        const dom = await page.evaluate<FailingDom>(FAILING_DOM);
        // Follow a failing cell's link: the page scrolls to its finding group.
        await page.click('#matrix td.bad a');
        const hash = await page.evaluate<string>('location.hash');
        const target = await page.evaluate<number>(`document.getElementById(${JSON.stringify(hash.slice(1))})?.getBoundingClientRect().top ?? NaN`);
        const shot = pngSize(await page.screenshot({ fullPage: true }));
        return { dom, hash, target, shot, requests };
      });
      t.is(bad.dom.caseCount, `${failingCases} cases`);
      t.is(bad.dom.rows, failingCases, 'one matrix row per case');
      t.true(bad.dom.tacticColumns >= 4, `${bad.dom.tacticColumns} tactic columns`);
      t.true(bad.dom.badCells > 0);
      t.is(bad.dom.dangling.length, 0, `matrix links without a target: ${bad.dom.dangling.join(' ')}`);
      t.is(bad.dom.links.length, bad.dom.badCells, 'every failing cell links to its group');
      t.true(bad.dom.groups > 0 && bad.dom.groups < bad.dom.badCells, `${bad.dom.groups} groups for ${bad.dom.badCells} failing cells: identical findings are grouped`);
      t.true(bad.dom.groupTactics.some((n) => n > 1), 'a group names several tactics');
      t.regex(bad.dom.diagnosis, /all tactics: not a tiling bug/);
      t.true(bad.dom.fullGroups > 0);
      t.true(bad.dom.images.length >= 2 * bad.dom.fullGroups, `${bad.dom.images.length} images for ${bad.dom.fullGroups} full groups`);
      for (const img of bad.dom.images) {
        t.true(img.complete && img.natural > 0, 'heat map decoded by the browser');
        t.is(img.natural, img.cols);
        t.true(img.shown >= img.natural * 3, `heat map scaled up: ${img.shown} px for ${img.natural} cells`);
      }
      t.is(bad.dom.worstRows, 5 * bad.dom.fullGroups, 'five worst elements per full group');
      t.is(bad.dom.scripts, 0);
      t.regex(bad.hash, /^#g\d+$/);
      t.true(Math.abs(bad.target) < 5, `the linked group is at the top of the viewport (${bad.target} px)`);
      t.deepEqual(bad.requests.filter((u) => !u.startsWith('file:') && !u.startsWith('data:')), [], 'the page fetches nothing');
      t.is(bad.shot.width, VIEWPORT.width);
      t.true(bad.shot.height > 3 * VIEWPORT.height, `failing page ${bad.shot.height} px tall`);

      const good = await withPage(passing, async (page, requests) => {
        const dom = await page.evaluate<PassingDom>(PASSING_DOM);
        return { dom, shot: pngSize(await page.screenshot({ fullPage: true })), requests };
      });
      t.is(good.dom.caseCount, '1 case');
      t.is(good.dom.rows, 1);
      t.true(good.dom.ok > 0);
      t.is(good.dom.bad, 0);
      t.true(good.dom.none);
      t.is(good.dom.groups, 0);
      t.true(good.dom.diagnosisOk);
      t.true(good.dom.charts.length > 0 && good.dom.charts.every((w) => w > 100), 'histograms drawn');
      t.deepEqual(good.requests.filter((u) => !u.startsWith('file:') && !u.startsWith('data:')), []);
      t.is(good.shot.width, VIEWPORT.width);
      t.true(good.shot.height >= VIEWPORT.height && good.shot.height < bad.shot.height, `passing page ${good.shot.height} px, failing ${bad.shot.height} px`);
      t.log(`screenshots: failing ${bad.shot.width}×${bad.shot.height}, passing ${good.shot.width}×${good.shot.height}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
