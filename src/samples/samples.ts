import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';

import type { Category } from '../scanning/types.js';
import { createEncryptedZip, createZip } from './zip-writer.js';

/** A generated message with the verdict the embedded engines must give it. */
export interface Sample {
  /** File name inside the samples folder. */
  file: string;
  description: string;
  raw: Buffer;
  expected: { category: Category; signature?: string };
}

/** The organization domain the phishing sample imitates; the demo sets MAILSWEEP_ORG_DOMAINS to it. */
export const SAMPLE_ORGANIZATION_DOMAIN = 'contoso.com';

// The two industry test strings are assembled at run time so that this source file is not itself
// flagged by a virus or spam scanner that reads the repository.
/** The EICAR antivirus test file (68 bytes). */
export const EICAR = ['X5O!P%@AP[4\\PZX54(P^)7CC)7}$', 'EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*'].join('');
/** The GTUBE spam test string. */
export const GTUBE = ['XJS*C4JDBQADN1.NSBN3*2IDNEN*', 'GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X'].join('');

const CRLF = '\r\n';
const HEADERS = [
  'From: Alex Wilber <alex.wilber@fabrikam.example>',
  'To: Megan Bowen <megan.bowen@contoso.com>',
  'Date: Thu, 03 Dec 2026 09:15:00 +0000',
  'MIME-Version: 1.0',
];

/** Builds every sample. Deterministic: the same bytes on every run. */
export async function buildSamples(): Promise<Sample[]> {
  return [
    await eicarInZipInForwardedMessage(),
    gtube(),
    lookalikePhishing(),
    await macroDocument(),
    disguisedExecutable(),
    await zipBomb(),
    encryptedZip(),
    cleanWithPdf(),
  ];
}

/** Writes every sample into `folder` (created if missing) and returns them. */
export async function writeSamples(folder: string): Promise<Sample[]> {
  const samples = await buildSamples();
  await mkdir(folder, { recursive: true });
  for (const sample of samples) {
    await writeFile(path.join(folder, sample.file), sample.raw);
  }
  return samples;
}

async function eicarInZipInForwardedMessage(): Promise<Sample> {
  const zip = await createZip([{ name: 'tools/eicar.com', content: Buffer.from(EICAR) }]);
  const inner = message(
    ['From: Unknown Sender <sender@fabrikam.example>', 'To: alex.wilber@fabrikam.example',
      'Subject: Scanner test file', 'Message-ID: <inner-eicar@fabrikam.example>'],
    multipart('inner', [
      textPart('The archive holds the file you asked for.'),
      attachmentPart('application/zip', 'tools.zip', zip),
    ]),
  );
  const raw = message(
    [...HEADERS, 'Subject: Fwd: Scanner test file', 'Message-ID: <sample-eicar@fabrikam.example>'],
    multipart('outer', [
      textPart('Forwarding this one for the security team to look at.'),
      { headers: ['Content-Type: message/rfc822', 'Content-Disposition: inline'], body: inner.toString('latin1') },
    ]),
  );
  return {
    file: 'eicar-in-zip-in-forwarded-message.eml',
    description: 'EICAR inside a zip attached to a forwarded message that is marked inline',
    raw,
    expected: { category: 'malware', signature: 'Eicar-Test-Signature' },
  };
}

function gtube(): Sample {
  const body = `This message carries the spam test string.${CRLF}${CRLF}${GTUBE}${CRLF}`;
  return {
    file: 'gtube.eml',
    description: 'GTUBE spam test string in a quoted-printable body split by a soft line break',
    raw: message(
      [...HEADERS, 'Subject: Spam filter test', 'Message-ID: <sample-gtube@fabrikam.example>',
        'Content-Type: text/plain; charset=us-ascii', 'Content-Transfer-Encoding: quoted-printable'],
      { headers: [], body: splitWithSoftBreak(body, 60) },
    ),
    expected: { category: 'spam', signature: 'Spam.GTUBE' },
  };
}

function lookalikePhishing(): Sample {
  const html = [
    '<html><body><p>Your mailbox password expires today.</p>',
    '<p>Keep your current password: <a href="https://login.c0ntoso.com/keep">https://login.contoso.com/keep</a></p>',
    '<p>IT Service Desk</p></body></html>',
  ].join(CRLF);
  return {
    file: 'lookalike-domain-phishing.eml',
    description: 'link to a look-alike of the organization domain, shown as the real one',
    raw: message(
      ['From: IT Service Desk <servicedesk@c0ntoso.com>', 'To: Megan Bowen <megan.bowen@contoso.com>',
        'Date: Thu, 03 Dec 2026 09:15:00 +0000', 'MIME-Version: 1.0',
        'Subject: Action required: password expiry', 'Message-ID: <sample-phish@c0ntoso.com>',
        'Content-Type: text/html; charset=utf-8'],
      { headers: [], body: html },
    ),
    expected: { category: 'phishing', signature: 'Phish.Lookalike' },
  };
}

async function macroDocument(): Promise<Sample> {
  const docm = await createZip([
    { name: '[Content_Types].xml', content: Buffer.from('<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Override PartName="/word/document.xml" ContentType="application/vnd.ms-word.document.macroEnabled.main+xml"/></Types>') },
    { name: 'word/document.xml', content: Buffer.from('<?xml version="1.0"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body/></w:document>') },
    { name: 'word/vbaProject.bin', content: Buffer.from('placeholder for a VBA project storage') },
  ]);
  return {
    file: 'macro-document.eml',
    description: 'Word document with a VBA project, sent under a .docx name',
    raw: message(
      [...HEADERS, 'Subject: Quarterly figures', 'Message-ID: <sample-macro@fabrikam.example>'],
      multipart('macro', [
        textPart('The quarterly figures are in the attached document.'),
        attachmentPart('application/vnd.openxmlformats-officedocument.wordprocessingml.document', 'figures.docx', docm),
      ]),
    ),
    expected: { category: 'policy', signature: 'Office.Macro' },
  };
}

function disguisedExecutable(): Sample {
  return {
    file: 'disguised-executable.eml',
    description: 'Windows executable attached under a .pdf name',
    raw: message(
      [...HEADERS, 'Subject: Invoice 2026-1187', 'Message-ID: <sample-disguised@fabrikam.example>'],
      multipart('exe', [
        textPart('Please find the invoice attached.'),
        attachmentPart('application/pdf', 'invoice-2026-1187.pdf', portableExecutableStub()),
      ]),
    ),
    expected: { category: 'malware', signature: 'Disguised.Executable' },
  };
}

async function zipBomb(): Promise<Sample> {
  // 256 MiB of zeros deflate to about 250 KiB: a ratio of about 1,000 to 1.
  const zip = await createZip([{ name: 'backup.img', content: Buffer.alloc(256 * 1024 * 1024) }]);
  return {
    file: 'zip-bomb.eml',
    description: 'zip whose one member expands about 1,000 times',
    raw: message(
      [...HEADERS, 'Subject: Backup image', 'Message-ID: <sample-bomb@fabrikam.example>'],
      multipart('bomb', [textPart('Backup attached.'), attachmentPart('application/zip', 'backup.zip', zip)]),
    ),
    expected: { category: 'policy', signature: 'archive.compression-ratio' },
  };
}

function encryptedZip(): Sample {
  const zip = createEncryptedZip({ name: 'statement.pdf', content: Buffer.from('%PDF-1.4\n%statement\n') }, 'infected');
  return {
    file: 'encrypted-zip.eml',
    description: 'password-protected zip, the password given in the body',
    raw: message(
      [...HEADERS, 'Subject: Your statement', 'Message-ID: <sample-encrypted@fabrikam.example>'],
      multipart('enc', [
        textPart('Your statement is attached. The password is 1234.'),
        attachmentPart('application/zip', 'statement.zip', zip),
      ]),
    ),
    expected: { category: 'policy', signature: 'Archive.Encrypted' },
  };
}

function cleanWithPdf(): Sample {
  return {
    file: 'clean-with-pdf.eml',
    description: 'ordinary business mail with a small PDF',
    raw: message(
      [...HEADERS, 'Subject: Minutes of the planning meeting', 'Message-ID: <sample-clean@fabrikam.example>'],
      multipart('clean', [
        textPart([
          'Hi Megan,',
          '',
          'I have attached the minutes from Tuesday. The two open points are the budget review',
          'and the schedule for the test migration; I suggest we go through them on Friday.',
          '',
          'Thanks,',
          'Alex',
        ].join(CRLF)),
        attachmentPart('application/pdf', 'minutes.pdf', minimalPdf()),
      ]),
    ),
    expected: { category: 'clean' },
  };
}

interface MimePart {
  headers: string[];
  body: string;
}

function message(headers: string[], content: MimePart): Buffer {
  return Buffer.from([...headers, ...content.headers].join(CRLF) + CRLF + CRLF + content.body, 'latin1');
}

function multipart(boundaryName: string, parts: MimePart[]): MimePart {
  const boundary = `=_mailsweep_${boundaryName}_0001`;
  const body = parts
    .map((part) => `--${boundary}${CRLF}${part.headers.join(CRLF)}${CRLF}${CRLF}${part.body}${CRLF}`)
    .join('');
  return {
    headers: [`Content-Type: multipart/mixed; boundary="${boundary}"`],
    body: `This is a multi-part message in MIME format.${CRLF}${body}--${boundary}--${CRLF}`,
  };
}

function textPart(text: string): MimePart {
  return { headers: ['Content-Type: text/plain; charset=us-ascii'], body: text };
}

function attachmentPart(contentType: string, filename: string, content: Buffer): MimePart {
  return {
    headers: [
      `Content-Type: ${contentType}; name="${filename}"`,
      'Content-Transfer-Encoding: base64',
      `Content-Disposition: attachment; filename="${filename}"`,
    ],
    body: (content.toString('base64').match(/.{1,76}/g) ?? []).join(CRLF),
  };
}

/** Splits lines longer than `width` with quoted-printable soft line breaks (`=` at line end). */
function splitWithSoftBreak(text: string, width: number): string {
  return text
    .split(CRLF)
    .map((line) => (line.match(new RegExp(`.{1,${width}}`, 'g')) ?? ['']).join(`=${CRLF}`))
    .join(CRLF);
}

/** Builds the first bytes of a Windows executable: an MZ header pointing at a PE signature. */
function portableExecutableStub(): Buffer {
  const stub = Buffer.alloc(512);
  stub.write('MZ', 0, 'latin1');
  stub.writeUInt32LE(0x80, 0x3c);
  stub.write('PE\0\0', 0x80, 'latin1');
  stub.writeUInt16LE(0x14c, 0x84); // machine: i386
  return stub;
}

function minimalPdf(): Buffer {
  return Buffer.from([
    '%PDF-1.4',
    '1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj',
    '2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj',
    '3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >> endobj',
    'trailer << /Root 1 0 R >>',
    '%%EOF',
  ].join('\n'), 'latin1');
}
