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
  /** Extra header lines (e.g. RFC 8058 List-Unsubscribe), passed to nodemailer as they are. */
  headers?: Record<string, string>;
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

/** The sentence a notification mail says, per notification type (app_public.notification_types). */
function notificationSentence(v: Variables): string {
  const who = v.actor_name || "Someone";
  const others = Number(v.actor_count) - 1;
  const actors = others > 0 ? `${who} and ${others} other${others === 1 ? "" : "s"}` : who;
  const on = v.target_title ? ` “${v.target_title}”` : "";
  switch (v.type_id) {
    case "new_follower":
      return `${who} started following you.`;
    case "comment_on_content":
      return `${who} commented on your contribution${on}.`;
    case "reply_to_comment":
      return `${who} replied to your comment${on ? ` under${on}` : ""}.`;
    case "answer_to_question":
      return `${who} answered your question${on}.`;
    case "answer_accepted":
      return `Your answer to${on || " a question"} was accepted.`;
    case "reaction":
      return `${actors} liked your contribution${on}.`;
    case "job_application_received":
      return `${who} applied to your job${v.title ? ` “${v.title}”` : ""}.`;
    case "application_status_changed":
      return `Your application${v.title ? ` for “${v.title}”` : ""} is now ${v.to_status || "updated"}.`;
    case "job_posted_in_category":
      return `A job was posted in a category you follow${v.title ? `: “${v.title}”` : ""}.`;
    case "badge_earned":
      return `You earned the badge${v.badge ? ` “${v.badge}”` : ""}.`;
    case "announcement":
      return `Announcement${v.title ? `: ${v.title}` : " from the administrators"}`;

    case "mention":
      return `${who} mentioned you in a chat message.`;
    case "direct_message":
      return `${who} sent you a direct message.`;
    case "security_alert":
      return (
        {
          new_sign_in: `Your account was signed in to from a new address${v.ip ? ` (${v.ip})` : ""}. If it was not you, change your password.`,
          password_changed: "Your password was changed. If it was not you, reset it now.",
          email_changed: "Your primary e-mail address was changed. If it was not you, reset your password now.",
          session_revoked_reuse: "A sign-in session was ended because its refresh token was used twice. Sign in again; if this repeats, change your password.",
        }[v.event] ?? "There was a security event on your account."
      );
    default:
      return "You have a new notification.";
  }
}

/** A notification mail, with a one-click unsubscribe (RFC 8058) from this type's e-mails. */
function notificationMail(v: Variables, publicUrl: string): RenderedMail {
  const sentence = notificationSentence(v);
  const open = `${publicUrl}/notifications`;
  const unsubscribe = `${publicUrl}/unsubscribe?token=${encodeURIComponent(v.unsubscribe_token)}`;
  const subject = v.type_id === "security_alert" ? "Security alert on your Agora account" : `Agora: ${sentence}`;
  return {
    subject: subject.length > 150 ? `${subject.slice(0, 149)}…` : subject,
    text: `${sentence}

See your notifications: ${open}

Stop these e-mails: ${unsubscribe}

— Agora`,
    html:
      `<!doctype html><html><body style="font-family: sans-serif">` +
      `<p>${escapeHtml(sentence)}</p>` +
      `<p><a href="${escapeHtml(open)}">See your notifications</a></p>` +
      `<p style="color:#666"><a href="${escapeHtml(unsubscribe)}">Stop these e-mails</a></p><p>— Agora</p></body></html>`,
    headers: {
      "List-Unsubscribe": `<${unsubscribe}>`,
      "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    },
  };
}

/** A digest: one mail listing every pending notification (`items` is a JSON array of notification variables). */
function notificationDigestMail(v: Variables, publicUrl: string): RenderedMail {
  const sentences = (JSON.parse(v.items) as Variables[]).map(notificationSentence);
  const open = `${publicUrl}/notifications`;
  const unsubscribe = `${publicUrl}/unsubscribe?token=${encodeURIComponent(v.unsubscribe_token)}`;
  return {
    subject: `Agora: ${sentences.length} new notification${sentences.length === 1 ? "" : "s"}`,
    text: `${sentences.map((s) => `- ${s}`).join("\n")}\n\nSee your notifications: ${open}\n\nStop digest e-mails: ${unsubscribe}\n\n— Agora`,
    html:
      `<!doctype html><html><body style="font-family: sans-serif"><ul>` +
      sentences.map((s) => `<li>${escapeHtml(s)}</li>`).join("") +
      `</ul><p><a href="${escapeHtml(open)}">See your notifications</a></p>` +
      `<p style="color:#666"><a href="${escapeHtml(unsubscribe)}">Stop digest e-mails</a></p><p>— Agora</p></body></html>`,
    headers: {
      "List-Unsubscribe": `<${unsubscribe}>`,
      "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    },
  };
}

const notificationTemplates: Record<string, (v: Variables, publicUrl: string) => RenderedMail> = {
  notification: notificationMail,
  notification_digest: notificationDigestMail,
};

export function renderMail(template: string, variables: Variables, publicUrl: string): RenderedMail {
  const render = templates[template] ?? notificationTemplates[template];
  if (!render) throw new Error(`Unknown mail template "${template}"`);
  return render(variables, publicUrl);
}
