//! The UI's words in Chinese (the default) and English. The language is chosen per request
//! (`?lang=en` once, then a cookie), never for the whole process, and travels into templates as
//! a [`Tr`]. Both message sets have exactly the same keys (a test checks it, and that every key
//! a template uses exists).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use std::convert::Infallible;

/// A language of the UI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    Zh,
    En,
}

impl Lang {
    pub fn parse(s: &str) -> Option<Lang> {
        match s {
            "zh" | "zh-CN" => Some(Lang::Zh),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
        }
    }

    /// The value of `<html lang>`.
    pub fn html(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }

    /// The other language, for the switch.
    pub fn other(self) -> Lang {
        match self {
            Lang::Zh => Lang::En,
            Lang::En => Lang::Zh,
        }
    }

    /// The message tables of the language: the pages' own, then each feature's.
    fn tables(self) -> [&'static [(&'static str, &'static str)]; 3] {
        match self {
            Lang::Zh => [ZH, super::steps::words::ZH, super::forms::words::ZH],
            Lang::En => [EN, super::steps::words::EN, super::forms::words::EN],
        }
    }

    fn messages(self) -> impl Iterator<Item = &'static (&'static str, &'static str)> {
        self.tables().into_iter().flatten()
    }
}

/// The name of the cookie that remembers the language.
pub const LANG_COOKIE: &str = "bangban_lang";

/// The language of a request: `?lang=` first, then the cookie, else Chinese.
impl<S: Send + Sync> FromRequestParts<S> for Lang {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let from_query = parts.uri.query().and_then(|q| {
            q.split('&')
                .filter_map(|pair| pair.split_once('='))
                .find(|(k, _)| *k == "lang")
                .and_then(|(_, v)| Lang::parse(v))
        });
        Ok(from_query
            .or_else(|| super::session::cookie(&parts.headers, LANG_COOKIE).and_then(Lang::parse))
            .unwrap_or_default())
    }
}

/// Translations for one request, as templates use them: `{{ t.s("login.title") }}`.
#[derive(Debug, Clone, Copy)]
pub struct Tr {
    pub lang: Lang,
}

impl Tr {
    pub fn new(lang: Lang) -> Tr {
        Tr { lang }
    }

    /// The text of `key`, or the key itself when it is missing (tests keep that from happening).
    pub fn s(&self, key: &str) -> &'static str {
        self.lang
            .messages()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| *v)
            .unwrap_or_else(|| {
                tracing::warn!(key, lang = self.lang.code(), "missing UI message");
                "?"
            })
    }

    /// Picks between the two texts of a bilingual domain message.
    pub fn pick<'a>(&self, zh: &'a str, en: &'a str) -> &'a str {
        match self.lang {
            Lang::Zh => zh,
            Lang::En => en,
        }
    }

    /// The label of a case stage.
    pub fn stage(&self, stage: bangban_domain::case::Stage) -> &'static str {
        match self.lang {
            Lang::Zh => stage.label_zh(),
            Lang::En => stage.label_en(),
        }
    }
}

/// Every key of both sets, for tests.
pub fn keys(lang: Lang) -> Vec<&'static str> {
    lang.messages().map(|(k, _)| *k).collect()
}

static ZH: &[(&str, &str)] = &[
    ("app.name", "帮办代办服务系统"),
    ("app.skip", "跳到正文"),
    ("lang.switch", "English"),
    ("nav.start", "工作台"),
    ("consult.new", "登记咨询"),
    ("consult.title", "登记咨询"),
    ("consult.channel", "咨询方式"),
    ("consult.topic", "咨询的问题"),
    ("consult.item", "涉及事项"),
    ("consult.no_item", "（不涉及具体事项）"),
    ("consult.answer", "答复内容"),
    ("consult.hint", "咨询登记不需要填写群众的个人信息。"),
    ("consult.submit", "保存"),
    ("consult.bad_channel", "请选择咨询方式。"),
    ("nav.cases", "办件"),
    ("cases.title", "办件列表"),
    ("cases.search", "查找"),
    ("cases.search_hint", "办件编号、事项、申请人姓名或证件号码"),
    ("cases.stage", "状态"),
    ("cases.any_stage", "全部状态"),
    ("cases.held_here", "只看本中心承办的"),
    ("cases.filter", "查询"),
    ("cases.none", "没有符合条件的办件。"),
    ("cases.case_no", "办件编号"),
    ("cases.item", "事项"),
    ("cases.applicant", "申请人"),
    ("cases.opened", "受理时间"),
    ("cases.due", "承诺办结日期"),
    ("cases.holder", "承办站点"),
    ("cases.suspended", "已中止"),
    ("cases.pages", "翻页"),
    ("cases.prev", "上一页"),
    ("cases.next", "下一页"),
    ("cases.page", "第"),
    ("cases.bad_stage", "没有这个办件状态，已显示全部状态。"),
    ("case.title", "办件"),
    ("case.overdue", "已超期"),
    ("case.origin", "受理站点"),
    ("case.here", "本中心"),
    ("case.visits", "跑动次数"),
    ("case.log", "办理记录"),
    ("case.when", "时间"),
    ("case.step", "环节"),
    ("case.by", "经办"),
    ("case.not_found", "没有这个办件。"),
    ("case.paused", "已暂停计时"),
    ("case.provisional", "（按预估日历计算）"),
    ("nav.logout", "退出登录"),
    ("nav.signed_in_as", "当前用户"),
    ("login.title", "登录"),
    ("login.heading", "工作人员登录"),
    ("login.username", "用户名"),
    ("login.password", "密码"),
    ("login.submit", "登录"),
    (
        "login.hint",
        "请使用本中心管理员为您开设的账号登录。忘记密码请联系本中心管理员。",
    ),
    ("login.expired", "登录已失效，请重新登录。"),
    ("login.logged_out", "您已安全退出。"),
    ("login.missing", "请填写用户名和密码。"),
    ("start.title", "工作台"),
    ("start.today", "今日工作"),
    ("start.new_today", "今日新受理"),
    ("start.due_soon", "两个工作日内到期"),
    ("start.overdue", "已超期"),
    ("start.away", "已上报、待上级办理"),
    ("start.greeting", "您好，"),
    ("start.node", "本中心"),
    ("start.code", "编码"),
    ("start.tier", "层级"),
    ("start.cases", "本中心的办件"),
    ("start.stage", "状态"),
    ("start.count", "件数"),
    ("start.no_cases", "暂无办件。"),
    ("start.link", "与上级的连接"),
    ("start.link_none", "本中心没有上级节点。"),
    ("start.link_ok", "连接正常"),
    (
        "start.link_down",
        "暂时连不上上级；办件照常受理，恢复后自动补传。",
    ),
    ("start.link_never", "尚未连上上级。"),
    ("start.outbox", "待上传记录"),
    ("start.dead_letters", "被拒收、待处理的记录"),
    (
        "start.plain_http",
        "注意：本系统正以未加密的 HTTP 方式在局域网地址上提供服务，密码和个人信息可能被截获。请联系管理员配置 HTTPS 证书。",
    ),
    ("tier.district", "区（县）"),
    ("tier.town", "乡镇（街道）"),
    ("tier.village", "村（社区）"),
    ("error.title", "出错了"),
    ("error.back", "返回工作台"),
    (
        "error.csrf",
        "页面已过期或来源不明，操作未执行。请返回后刷新页面再试。",
    ),
    ("error.forbidden", "您的账号无权进行此操作。"),
    (
        "error.internal",
        "系统内部错误，请稍后重试；如持续出现请联系管理员。",
    ),
    // Station admin: accounts, full personal data and its audit trail.
    ("nav.accounts", "账号管理"),
    ("nav.audit", "查阅记录"),
    ("nav.policy", "政策与名册"),
    ("accounts.title", "账号管理"),
    ("accounts.list", "本节点的账号"),
    ("accounts.username", "用户名"),
    ("accounts.display_name", "姓名"),
    ("accounts.role", "角色"),
    ("accounts.status", "状态"),
    ("accounts.enabled", "启用"),
    ("accounts.disabled", "已停用"),
    ("accounts.last_login", "最近登录"),
    ("accounts.never", "（无记录）"),
    ("accounts.manage", "管理"),
    ("accounts.you", "（本人）"),
    ("accounts.disable", "停用"),
    ("accounts.enable", "启用"),
    ("accounts.disable_hint", "停用后该账号立即退出登录。"),
    ("accounts.change_role", "更改角色"),
    ("accounts.new_password", "新密码"),
    ("accounts.reset_password", "重置密码"),
    (
        "accounts.reset_hint",
        "重置后该账号的所有登录立即失效，请将新密码当面告知本人。",
    ),
    ("accounts.not_yours", "区级管理员账号由区级管理员管理。"),
    ("accounts.new", "开设账号"),
    (
        "accounts.username_hint",
        "3–32 个字符，只能包含小写字母、数字、“_”、“.”或“-”。",
    ),
    ("accounts.password", "初始密码"),
    (
        "accounts.password_hint",
        "至少 8 个字符，不能全是数字，不能与用户名相同。",
    ),
    ("accounts.create", "开设"),
    ("accounts.done", "已保存。"),
    ("accounts.unknown", "没有这个账号。"),
    ("accounts.audit", "账号变更记录"),
    ("accounts.audit_none", "暂无记录。"),
    ("accounts.when", "时间"),
    ("accounts.actor", "操作人"),
    ("accounts.action", "操作"),
    ("accounts.target", "账号"),
    ("accounts.detail", "说明"),
    ("accounts.cli", "命令行"),
    ("personal.link", "查看完整个人信息（查看将被记录）"),
    ("personal.title", "完整个人信息"),
    ("personal.back", "返回办件"),
    (
        "personal.recorded",
        "您的此次查看已记录（查看人、时间、办件编号），供督查核对。请勿抄录、拍照或外传。",
    ),
    ("personal.applicant", "申请人"),
    ("personal.name", "姓名"),
    ("personal.id_number", "公民身份号码"),
    ("personal.phone", "手机号码"),
    ("personal.company", "单位名称"),
    ("personal.credit_code", "统一社会信用代码"),
    ("personal.legal_rep", "法定代表人"),
    ("personal.contact", "联系人"),
    ("personal.contact_phone", "联系电话"),
    ("personal.none", "本办件没有登记申请人的个人信息。"),
    ("personal.delivery", "结果送达"),
    ("personal.delivery_way", "送达方式"),
    ("personal.no_delivery", "尚未约定"),
    ("personal.pickup", "大厅自取"),
    ("personal.courier", "免费邮寄"),
    ("personal.recipient", "收件人"),
    ("personal.address", "地址"),
    ("audit.title", "个人信息查阅记录"),
    (
        "audit.hint",
        "每次查看办件的完整个人信息都会记录在此，最新的在前。",
    ),
    ("audit.operator", "查看人用户名"),
    ("audit.case_no", "办件编号"),
    ("audit.case_no_hint", "可只填开头部分"),
    ("audit.when", "查看时间"),
    ("audit.viewer", "查看人"),
    ("audit.none", "没有符合条件的记录。"),
    ("audit.bad_filter", "查询条件格式不正确，已忽略该条件。"),
    // Attachments (scans and photos of materials): web/attachments.rs, attachments.html.
    ("att.title", "材料附件（扫描件、照片）"),
    ("att.none", "暂无附件。"),
    ("att.file", "文件"),
    ("att.material", "所属材料"),
    ("att.type", "类型"),
    ("att.size", "大小"),
    ("att.by", "上传人"),
    ("att.when", "上传时间"),
    ("att.not_here", "文件尚未传到本节点"),
    ("att.view_needs_role", "查看附件内容需要办件权限。"),
    ("att.no_material", "（不指定）"),
    ("att.choose", "选择文件"),
    (
        "att.limits",
        "接受 JPEG、PNG 图片和 PDF 文件（按文件内容判断）；图片中的拍摄信息（EXIF/XMP，如拍摄地点）在保存前删除；单个文件上限",
    ),
    ("att.upload", "上传附件"),
    ("att.not_kept", "本节点未启用附件存储。"),
    ("att.refused", "附件未上传"),
    ("att.back", "返回办件"),
    ("att.no_file", "请选择要上传的文件"),
    ("att.bad_form", "上传内容无法读取，请重新选择文件后再试"),
    // Case list: the due filter and keyset pages (issue 8).
    ("cases.due_filter", "期限"),
    ("cases.any_due", "全部期限"),
    ("cases.due_soon", "两个工作日内到期"),
    ("cases.overdue", "已超期"),
    ("cases.bad_filter", "查询条件有误，已忽略。"),
    // Policy bundles travel down the tree (issue 9, transport)
    ("start.policy_refused", "区政策包被拒收，仍按在用政策办理："),
    (
        "start.policy_expired",
        "在用的区政策包已过期：请检查与上级的连接，或联系区政务服务中心发布新的政策包。",
    ),
    // Stations use the agent roster; the calendar flag links to the calendar (issue 9, calendar)
    ("step.agent_pick", "请选择本中心在岗代办员"),
    (
        "step.agent_roster_hint",
        "名单来自区政务服务中心下发的帮办代办员名册。",
    ),
    (
        "step.agent_none",
        "本中心名册中没有在岗代办员，请联系区政务服务中心。",
    ),
    ("agent.role.assisting_agent", "帮办代办员"),
    ("agent.role.chief_representative", "首席代表"),
    ("agent.role.hall_guide", "大厅引导员"),
    ("agent.badge", "工牌"),
    ("start.calendar_edit", "维护工作日历"),
    // The catalogue's blank forms and samples (policy/files).
    ("catalogue_file.blank_form", "空白表格"),
    ("catalogue_file.sample", "示范样表"),
    ("catalogue_file.heading", "空白表格与示范样表"),
    ("catalogue_file.not_found", "在用事项目录中没有这个文件。"),
    ("catalogue_file.not_yet", "尚未从上级下载，请稍后再试。"),
    // Offline stations: how long the oldest record has waited for the parent (issue 10).
    ("start.outbox_oldest_1", "最早一条排队于 "),
    ("start.outbox_oldest_2", "，已等待 "),
    ("start.outbox_oldest_3", " 分钟"),
    // Alerts on the start page: deadlines and links (issue 10, issue 12 point 3).
    ("alerts.heading", "预警"),
    ("alerts.none", "目前没有预警。"),
    ("alerts.kind", "类别"),
    ("alerts.case", "办件编号"),
    ("alerts.centre", "中心"),
    ("alerts.what", "情况"),
    ("alerts.raised", "发现时间"),
    ("alerts.ack", "确认"),
    ("alerts.ack_button", "确认已知"),
    ("alerts.acked_by", "已确认："),
    ("alerts.due", "承诺办结日期 "),
    ("alerts.due_today", "，今日到期"),
    ("alerts.left_1", "，还剩 "),
    ("alerts.left_2", " 个工作日"),
    ("alerts.late_1", "，已超期 "),
    ("alerts.late_2", " 个工作日"),
    ("alerts.stuck_here", "上报记录尚未获上级确认，排队于 "),
    ("alerts.stuck_child", "下级报告有上报记录滞留，最早排队于 "),
    ("alerts.stuck_child_unknown", "下级报告有上报记录滞留"),
    ("alerts.silent", "最后联系于 "),
    ("alerts.not_found", "没有这个预警。"),
    // Case summaries of the subtree (辖区办件, issue 10).
    ("summaries.title", "辖区办件"),
    (
        "summaries.intro",
        "本站及下级站点受理的全部办件摘要（不含个人信息）；本站持有全部记录的办件可点开查看。",
    ),
    ("summaries.centre", "受理站点"),
    ("summaries.any_centre", "全部站点"),
    ("summaries.visits", "跑动次数"),
    ("summaries.none", "没有符合条件的办件摘要。"),
    (
        "summaries.bad_centre",
        "该站点不在本站辖区内，已显示全部站点。",
    ),
    // Two district replicas: the parent URL in use on the start page's link panel.
    ("start.parent_url", "上级地址"),
    ("start.parent_others", "备用地址："),
    ("start.parent_switches", "切换次数："),
];

static EN: &[(&str, &str)] = &[
    ("app.name", "Assisted Service System"),
    ("app.skip", "Skip to content"),
    ("lang.switch", "中文"),
    ("nav.start", "Start"),
    ("consult.new", "Log a consultation"),
    ("consult.title", "Log a consultation"),
    ("consult.channel", "How they asked"),
    ("consult.topic", "The question"),
    ("consult.item", "Service item"),
    ("consult.no_item", "(no particular item)"),
    ("consult.answer", "The answer given"),
    (
        "consult.hint",
        "A consultation needs no personal data of the person asking.",
    ),
    ("consult.submit", "Save"),
    ("consult.bad_channel", "Please choose how they asked."),
    ("nav.cases", "Cases"),
    ("cases.title", "Cases"),
    ("cases.search", "Find"),
    (
        "cases.search_hint",
        "Case number, item, applicant's name or ID number",
    ),
    ("cases.stage", "Stage"),
    ("cases.any_stage", "Any stage"),
    ("cases.held_here", "Only cases this centre holds"),
    ("cases.filter", "Search"),
    ("cases.none", "No cases match."),
    ("cases.case_no", "Case number"),
    ("cases.item", "Service item"),
    ("cases.applicant", "Applicant"),
    ("cases.opened", "Taken in"),
    ("cases.due", "Promised by"),
    ("cases.holder", "Held by"),
    ("cases.suspended", "Suspended"),
    ("cases.pages", "Pages"),
    ("cases.prev", "Previous"),
    ("cases.next", "Next"),
    ("cases.page", "Page"),
    ("cases.bad_stage", "No such stage; showing every stage."),
    ("case.title", "Case"),
    ("case.overdue", "overdue"),
    ("case.origin", "Taken in at"),
    ("case.here", "this centre"),
    ("case.visits", "Trips"),
    ("case.log", "Steps"),
    ("case.when", "When"),
    ("case.step", "Step"),
    ("case.by", "By"),
    ("case.not_found", "No such case."),
    ("case.paused", "clock paused"),
    ("case.provisional", "(on a provisional calendar)"),
    ("nav.logout", "Log out"),
    ("nav.signed_in_as", "Signed in as"),
    ("login.title", "Log in"),
    ("login.heading", "Staff login"),
    ("login.username", "Username"),
    ("login.password", "Password"),
    ("login.submit", "Log in"),
    (
        "login.hint",
        "Use the account your centre's administrator opened for you. If you forgot your password, ask your centre's administrator.",
    ),
    (
        "login.expired",
        "Your session has ended; please log in again.",
    ),
    ("login.logged_out", "You have logged out."),
    ("login.missing", "Please enter your username and password."),
    ("start.title", "Start"),
    ("start.today", "Today's work"),
    ("start.new_today", "Taken in today"),
    ("start.due_soon", "Due within two working days"),
    ("start.overdue", "Overdue"),
    ("start.away", "Escalated, awaiting a result"),
    ("start.greeting", "Hello, "),
    ("start.node", "This centre"),
    ("start.code", "Code"),
    ("start.tier", "Tier"),
    ("start.cases", "Cases at this centre"),
    ("start.stage", "Stage"),
    ("start.count", "Cases"),
    ("start.no_cases", "No cases yet."),
    ("start.link", "Link to the parent"),
    ("start.link_none", "This centre has no parent node."),
    ("start.link_ok", "Connected"),
    (
        "start.link_down",
        "The parent cannot be reached right now; intake goes on and everything is sent once it is back.",
    ),
    ("start.link_never", "Not connected to the parent yet."),
    ("start.outbox", "Records waiting to be sent"),
    (
        "start.dead_letters",
        "Refused records waiting for a decision",
    ),
    (
        "start.plain_http",
        "Warning: this system is served over unencrypted HTTP on a network address; passwords and personal data can be intercepted. Ask your administrator to configure an HTTPS certificate.",
    ),
    ("tier.district", "District"),
    ("tier.town", "Town / street"),
    ("tier.village", "Village / community"),
    ("error.title", "Something went wrong"),
    ("error.back", "Back to the start page"),
    (
        "error.csrf",
        "The page has expired or came from elsewhere, so nothing was done. Go back, reload the page and try again.",
    ),
    ("error.forbidden", "Your account may not do this."),
    (
        "error.internal",
        "Internal error; please retry later and contact the administrator if it persists.",
    ),
    // Station admin: accounts, full personal data and its audit trail.
    ("nav.accounts", "Accounts"),
    ("nav.audit", "Access log"),
    ("nav.policy", "Policy and registry"),
    ("accounts.title", "Accounts"),
    ("accounts.list", "Accounts of this node"),
    ("accounts.username", "Username"),
    ("accounts.display_name", "Name"),
    ("accounts.role", "Role"),
    ("accounts.status", "Status"),
    ("accounts.enabled", "Enabled"),
    ("accounts.disabled", "Disabled"),
    ("accounts.last_login", "Last login"),
    ("accounts.never", "(none recorded)"),
    ("accounts.manage", "Manage"),
    ("accounts.you", "(you)"),
    ("accounts.disable", "Disable"),
    ("accounts.enable", "Enable"),
    (
        "accounts.disable_hint",
        "The account is logged out at once.",
    ),
    ("accounts.change_role", "Change role"),
    ("accounts.new_password", "New password"),
    ("accounts.reset_password", "Reset password"),
    (
        "accounts.reset_hint",
        "Every session of the account ends; tell the new password to its holder in person.",
    ),
    (
        "accounts.not_yours",
        "District administrators' accounts are managed by a district administrator.",
    ),
    ("accounts.new", "Open an account"),
    (
        "accounts.username_hint",
        "3 to 32 characters: lowercase letters, digits, '_', '.' or '-'.",
    ),
    ("accounts.password", "Initial password"),
    (
        "accounts.password_hint",
        "At least 8 characters, not digits only, not the username.",
    ),
    ("accounts.create", "Create"),
    ("accounts.done", "Saved."),
    ("accounts.unknown", "No such account."),
    ("accounts.audit", "Account changes"),
    ("accounts.audit_none", "Nothing recorded yet."),
    ("accounts.when", "When"),
    ("accounts.actor", "By"),
    ("accounts.action", "Change"),
    ("accounts.target", "Account"),
    ("accounts.detail", "Detail"),
    ("accounts.cli", "command line"),
    (
        "personal.link",
        "Show the full personal data (the view is recorded)",
    ),
    ("personal.title", "Full personal data"),
    ("personal.back", "Back to case"),
    (
        "personal.recorded",
        "This view has been recorded (who, when, which case) for supervision. Do not copy, photograph or pass on these data.",
    ),
    ("personal.applicant", "Applicant"),
    ("personal.name", "Name"),
    ("personal.id_number", "Resident ID number"),
    ("personal.phone", "Mobile phone"),
    ("personal.company", "Organisation"),
    ("personal.credit_code", "Unified social credit code"),
    ("personal.legal_rep", "Legal representative"),
    ("personal.contact", "Contact person"),
    ("personal.contact_phone", "Contact phone"),
    (
        "personal.none",
        "No personal data of an applicant is recorded for this case.",
    ),
    ("personal.delivery", "Delivery of the result"),
    ("personal.delivery_way", "How"),
    ("personal.no_delivery", "Not agreed yet"),
    ("personal.pickup", "Pick-up at the hall"),
    ("personal.courier", "Free courier"),
    ("personal.recipient", "Recipient"),
    ("personal.address", "Address"),
    ("audit.title", "Personal data views"),
    (
        "audit.hint",
        "Every view of a case's full personal data is recorded here, newest first.",
    ),
    ("audit.operator", "Viewer's username"),
    ("audit.case_no", "Case number"),
    ("audit.case_no_hint", "The beginning is enough"),
    ("audit.when", "Viewed at"),
    ("audit.viewer", "Viewer"),
    ("audit.none", "No views match."),
    (
        "audit.bad_filter",
        "A filter was not well-formed and is ignored.",
    ),
    // Attachments (scans and photos of materials): web/attachments.rs, attachments.html.
    ("att.title", "Attachments (scans and photos of materials)"),
    ("att.none", "No attachments yet."),
    ("att.file", "File"),
    ("att.material", "Material"),
    ("att.type", "Type"),
    ("att.size", "Size"),
    ("att.by", "Uploaded by"),
    ("att.when", "Uploaded"),
    ("att.not_here", "file not received at this centre yet"),
    (
        "att.view_needs_role",
        "Opening the files needs a role that handles cases.",
    ),
    ("att.no_material", "(none)"),
    ("att.choose", "File"),
    (
        "att.limits",
        "JPEG, PNG or PDF (told from the content); photos lose their EXIF/XMP data (such as where they were taken) before they are stored; at most",
    ),
    ("att.upload", "Upload"),
    ("att.not_kept", "This centre keeps no attachments."),
    ("att.refused", "Attachment not uploaded"),
    ("att.back", "Back to case"),
    ("att.no_file", "Choose a file to upload."),
    (
        "att.bad_form",
        "The upload could not be read; choose the file again and retry.",
    ),
    // Case list: the due filter and keyset pages (issue 8).
    ("cases.due_filter", "Due"),
    ("cases.any_due", "Any due date"),
    ("cases.due_soon", "Due within two working days"),
    ("cases.overdue", "Overdue"),
    (
        "cases.bad_filter",
        "A filter was not understood and was ignored.",
    ),
    // Policy bundles travel down the tree (issue 9, transport)
    (
        "start.policy_refused",
        "A policy bundle from the district was refused; the policy in force stays: ",
    ),
    (
        "start.policy_expired",
        "The district's policy bundle in force has expired: check the link to the parent, or ask the district to publish a new bundle.",
    ),
    // Stations use the agent roster; the calendar flag links to the calendar (issue 9, calendar)
    ("step.agent_pick", "Pick an active agent of this centre"),
    (
        "step.agent_roster_hint",
        "The list is the district's registry of agents for this centre.",
    ),
    (
        "step.agent_none",
        "This centre's roster has no active agent; ask the district.",
    ),
    ("agent.role.assisting_agent", "Assisting agent"),
    ("agent.role.chief_representative", "Chief representative"),
    ("agent.role.hall_guide", "Hall guide"),
    ("agent.badge", "Badge"),
    ("start.calendar_edit", "Edit the working calendar"),
    // The catalogue's blank forms and samples (policy/files).
    ("catalogue_file.blank_form", "Blank form"),
    ("catalogue_file.sample", "Sample"),
    ("catalogue_file.heading", "Blank forms and samples"),
    (
        "catalogue_file.not_found",
        "The catalogue in force names no such file.",
    ),
    (
        "catalogue_file.not_yet",
        "Not yet downloaded from the parent centre; try again later.",
    ),
    // Offline stations: how long the oldest record has waited for the parent (issue 10).
    ("start.outbox_oldest_1", "the oldest queued at "),
    ("start.outbox_oldest_2", ", waiting for "),
    ("start.outbox_oldest_3", " min"),
    // Alerts on the start page: deadlines and links (issue 10, issue 12 point 3).
    ("alerts.heading", "Alerts"),
    ("alerts.none", "No alerts."),
    ("alerts.kind", "Kind"),
    ("alerts.case", "Case"),
    ("alerts.centre", "Centre"),
    ("alerts.what", "What"),
    ("alerts.raised", "Raised"),
    ("alerts.ack", "Acknowledged"),
    ("alerts.ack_button", "Acknowledge"),
    ("alerts.acked_by", "by "),
    ("alerts.due", "due "),
    ("alerts.due_today", ", due today"),
    ("alerts.left_1", ", "),
    ("alerts.left_2", " working day(s) left"),
    ("alerts.late_1", ", "),
    ("alerts.late_2", " working day(s) late"),
    (
        "alerts.stuck_here",
        "escalation not yet acknowledged by the parent, queued at ",
    ),
    (
        "alerts.stuck_child",
        "the child reports stuck escalations, the oldest queued at ",
    ),
    (
        "alerts.stuck_child_unknown",
        "the child reports stuck escalations",
    ),
    ("alerts.silent", "last contact at "),
    ("alerts.not_found", "No such alert."),
    // Case summaries of the subtree (辖区办件, issue 10).
    ("summaries.title", "Cases of the area"),
    (
        "summaries.intro",
        "Summaries of every case taken in here and below (no personal data); a case whose full record this centre holds opens from its number.",
    ),
    ("summaries.centre", "Taken in at"),
    ("summaries.any_centre", "Every centre"),
    ("summaries.visits", "Trips"),
    ("summaries.none", "No case summaries match."),
    (
        "summaries.bad_centre",
        "That centre is outside this centre's area; showing every centre.",
    ),
    // Two district replicas: the parent URL in use on the start page's link panel.
    ("start.parent_url", "Parent URL"),
    ("start.parent_others", "other URLs: "),
    ("start.parent_switches", "switches: "),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_languages_have_the_same_keys_once_each() {
        for lang in [Lang::Zh, Lang::En] {
            let mut keys = keys(lang);
            let n = keys.len();
            keys.sort_unstable();
            keys.dedup();
            assert_eq!(keys.len(), n, "{lang:?} repeats a key");
        }
        let mut zh = keys(Lang::Zh);
        let mut en = keys(Lang::En);
        zh.sort_unstable();
        en.sort_unstable();
        assert_eq!(zh, en);
    }

    /// Every `t.s("…")` in a template names a key of both sets.
    #[test]
    fn every_key_the_templates_use_exists() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
        let known = keys(Lang::Zh);
        let mut used = 0;
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
            for piece in text.split("t.s(\"").skip(1) {
                let key = piece.split('"').next().unwrap_or_default();
                assert!(
                    known.contains(&key),
                    "{} uses unknown key {key}",
                    entry.path().display()
                );
                used += 1;
            }
        }
        assert!(used > 10, "the templates were found and use keys ({used})");
    }
}
