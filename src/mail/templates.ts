/**
 * The mails Agora sends. SQL picks the template and supplies the variables
 * (including any single-use token, and `valid_for`, the link's lifetime as
 * the setting words it, e.g. "24 hours"); here they become a subject, a plain-text
 * part and an HTML part with a working link built from PUBLIC_URL.
 */
export interface RenderedMail {
  subject: string;
  text: string;
  html: string;
}

type Variables = Record<string, string>;

const escapeHtml = (value: string) =>
  value.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);

function linkMail(subject: string, intro: string, action: string, url: string, outro: string): RenderedMail {
  return {
    subject,
    text: `${intro}\n\n${action}: ${url}\n\n${outro}\n\n— Agora`,
    html:
      `<!doctype html><html><body style="font-family: sans-serif">` +
      `<p>${escapeHtml(intro)}</p>` +
      `<p><a href="${escapeHtml(url)}">${escapeHtml(action)}</a></p>` +
      `<p style="color:#666">${escapeHtml(outro)}</p><p>— Agora</p></body></html>`,
  };
}

const templates: Record<string, (v: Variables, publicUrl: string) => RenderedMail> = {
  verify_email: (v, publicUrl) =>
    linkMail(
      "Confirm your e-mail address",
      `Please confirm that ${v.email} is your address.`,
      "Confirm my address",
      `${publicUrl}/verify-email?token=${encodeURIComponent(v.token)}`,
      `The link works once, for ${v.valid_for ?? "a limited time"}. If you did not sign up, ignore this mail.`,
    ),
  reset_password: (v, publicUrl) =>
    linkMail(
      "Reset your password",
      `Someone asked to reset the password of the Agora account with the address ${v.email}.`,
      "Choose a new password",
      `${publicUrl}/reset-password?token=${encodeURIComponent(v.token)}`,
      `The link works once, for ${v.valid_for ?? "a limited time"}. If it was not you, ignore this mail: your password stays as it is.`,
    ),
};

export function renderMail(template: string, variables: Variables, publicUrl: string): RenderedMail {
  const render = templates[template];
  if (!render) throw new Error(`Unknown mail template "${template}"`);
  return render(variables, publicUrl);
}
