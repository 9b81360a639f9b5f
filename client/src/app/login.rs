//! The sign-in form shown when no credentials were found, as a pure state machine like the
//! main screen: [`LoginModel`] is the form, [`LoginMsg`] what can happen to it, [`update_login`]
//! the only writer, returning the [`LoginCommand`]s the runner performs.
//!
//! The flow is the one every Zulip client follows: check the server with `server_settings`
//! (so a typo in the URL is reported before a password is sent anywhere), trade email and
//! password for an API key with `fetch_api_key`, then offer to save a zuliprc (mode 0600) so
//! the next start signs in by itself.

use super::msg::KeyInput;

/// A text field of the form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Field {
    #[default]
    Server,
    Email,
    Password,
}

impl Field {
    const fn next(self) -> Field {
        match self {
            Field::Server => Field::Email,
            Field::Email => Field::Password,
            Field::Password => Field::Server,
        }
    }

    const fn previous(self) -> Field {
        match self {
            Field::Server => Field::Password,
            Field::Email => Field::Server,
            Field::Password => Field::Email,
        }
    }
}

/// What the form is doing.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Stage {
    /// Keys edit the fields.
    #[default]
    Editing,
    /// `server_settings` is on its way.
    CheckingServer,
    /// `fetch_api_key` is on its way.
    SigningIn,
    /// Signed in: save a zuliprc at `path`? (`y`/`n`).
    OfferSave { path: String },
    /// The zuliprc is being written.
    Saving,
    /// Finished: the runner takes the account and starts the main screen.
    Done,
}

/// What the server told about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerInfo {
    /// The organization's name, when the server gives it.
    pub realm_name: Option<String>,
    pub zulip_version: String,
    /// Password (or LDAP) log-in is enabled, so `fetch_api_key` can work.
    pub password_login: bool,
}

/// The account `fetch_api_key` returned.
#[derive(Clone, PartialEq, Eq)]
pub struct Account {
    pub site: String,
    pub email: String,
    pub api_key: String,
}

impl std::fmt::Debug for Account {
    /// The key stays out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Account")
            .field("site", &self.site)
            .field("email", &self.email)
            .finish_non_exhaustive()
    }
}

/// The sign-in form.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LoginModel {
    pub server: String,
    pub email: String,
    /// Never shown: the view draws one bullet per character.
    pub password: String,
    pub focus: Field,
    pub stage: Stage,
    /// The last failure, one line, until the next attempt.
    pub error: Option<String>,
    /// Known once `server_settings` answered for the current server text.
    pub server_info: Option<ServerInfo>,
    /// Where a zuliprc would be saved; `None` = do not offer saving.
    pub save_path: Option<String>,
    /// The account, once signed in.
    pub account: Option<Account>,
    /// Esc or Ctrl-C: leave without signing in.
    pub cancelled: bool,
    /// Enter was pressed on a complete form while the server was being checked: sign in as
    /// soon as it answers.
    pub submit_pending: bool,
}

/// Everything that can happen to the form.
#[derive(Debug, Clone, PartialEq)]
pub enum LoginMsg {
    Key(KeyInput),
    /// The terminal was resized.
    Resize,
    ServerChecked {
        site: String,
        result: Result<ServerInfo, String>,
    },
    SignedIn(Result<Account, String>),
    /// The zuliprc was written (or why not).
    Saved(Result<(), String>),
}

/// Effects the form asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginCommand {
    CheckServer {
        site: String,
    },
    FetchApiKey {
        site: String,
        username: String,
        password: String,
    },
    /// Write a zuliprc (owner-only) with the signed-in account.
    SaveZuliprc {
        path: String,
    },
}

impl LoginModel {
    /// An empty form; `save_path` is where the zuliprc would go.
    pub fn new(save_path: Option<String>) -> Self {
        LoginModel {
            save_path,
            ..LoginModel::default()
        }
    }

    /// Whether a request is running.
    pub fn busy(&self) -> bool {
        matches!(
            self.stage,
            Stage::CheckingServer | Stage::SigningIn | Stage::Saving
        )
    }

    /// The text of the focused field, for editing.
    fn focused_text(&mut self) -> &mut String {
        match self.focus {
            Field::Server => &mut self.server,
            Field::Email => &mut self.email,
            Field::Password => &mut self.password,
        }
    }

    /// The first empty field, if any.
    fn first_empty(&self) -> Option<Field> {
        [
            (Field::Server, &self.server),
            (Field::Email, &self.email),
            (Field::Password, &self.password),
        ]
        .into_iter()
        .find(|(_, text)| text.trim().is_empty())
        .map(|(field, _)| field)
    }

    /// The keys that work now, for the hint line.
    pub fn key_hints(&self) -> &'static str {
        match self.stage {
            Stage::Editing | Stage::CheckingServer => {
                "Tab/↑↓ field · Enter next/sign in · Esc quit"
            }
            Stage::OfferSave { .. } => "y save · n don't save · Esc don't save",
            Stage::SigningIn | Stage::Saving => "Ctrl-C quit",
            Stage::Done => "",
        }
    }
}

/// Applies `msg` to the form; returns the commands to run and whether to redraw.
pub fn update_login(model: &mut LoginModel, msg: LoginMsg) -> (Vec<LoginCommand>, bool) {
    let before = model.clone();
    let commands = match msg {
        LoginMsg::Key(key) => key_pressed(model, key),
        LoginMsg::Resize => return (Vec::new(), true),
        LoginMsg::ServerChecked { site, result } => server_checked(model, &site, result),
        LoginMsg::SignedIn(result) => signed_in(model, result),
        LoginMsg::Saved(result) => {
            if model.stage == Stage::Saving {
                if let Err(err) = result {
                    // Not fatal: the account works for this session; say why it was not kept.
                    model.error = Some(format!("not saved: {err}"));
                }
                model.stage = Stage::Done;
            }
            Vec::new()
        }
    };
    let redraw = *model != before;
    (commands, redraw)
}

fn key_pressed(model: &mut LoginModel, key: KeyInput) -> Vec<LoginCommand> {
    if key == KeyInput::CtrlC {
        model.cancelled = true;
        return Vec::new();
    }
    match model.stage.clone() {
        // Typing goes on while the server is checked, so a fast typist loses nothing.
        Stage::Editing | Stage::CheckingServer => edit(model, key),
        Stage::OfferSave { path } => match key {
            KeyInput::Char('y' | 'Y') | KeyInput::Enter => {
                model.stage = Stage::Saving;
                vec![LoginCommand::SaveZuliprc { path }]
            }
            KeyInput::Char('n' | 'N') | KeyInput::Esc => {
                model.stage = Stage::Done;
                Vec::new()
            }
            _ => Vec::new(),
        },
        Stage::SigningIn | Stage::Saving | Stage::Done => Vec::new(),
    }
}

fn edit(model: &mut LoginModel, key: KeyInput) -> Vec<LoginCommand> {
    match key {
        KeyInput::Esc => model.cancelled = true,
        KeyInput::Tab | KeyInput::Down => model.focus = model.focus.next(),
        KeyInput::BackTab | KeyInput::Up => model.focus = model.focus.previous(),
        KeyInput::Backspace => {
            model.focused_text().pop();
            forget_stale_server(model);
        }
        KeyInput::Char(c) if !c.is_control() => {
            model.focused_text().push(c);
            forget_stale_server(model);
        }
        KeyInput::Enter if model.stage == Stage::CheckingServer => submit_while_checking(model),
        KeyInput::Enter => return submit(model),
        _ => {}
    }
    Vec::new()
}

/// Editing the server URL makes what was learnt about the old one irrelevant, and an answer
/// still on its way is about the old text (it will be ignored).
fn forget_stale_server(model: &mut LoginModel) {
    if model.focus == Field::Server {
        model.server_info = None;
        model.submit_pending = false;
        if model.stage == Stage::CheckingServer {
            model.stage = Stage::Editing;
        }
    }
}

/// Enter while the server is being checked: move on, or sign in once it answers.
fn submit_while_checking(model: &mut LoginModel) {
    if model.first_empty().is_none() && model.focus == Field::Password {
        model.submit_pending = true;
    } else if let Some(empty) = model
        .first_empty()
        .filter(|_| model.focus == Field::Password)
    {
        model.focus = empty;
    } else {
        model.focus = model.focus.next();
    }
}

/// Enter: on the server field, check it at once (so a wrong URL shows before anything else
/// is typed); elsewhere move on, and once every field is filled, sign in.
fn submit(model: &mut LoginModel) -> Vec<LoginCommand> {
    model.error = None;
    if model.focus == Field::Server && model.server_info.is_none() {
        if model.server.trim().is_empty() {
            model.error = Some("enter the server's address, e.g. chat.example.com".to_owned());
            return Vec::new();
        }
        model.stage = Stage::CheckingServer;
        // The email can be typed while the server answers.
        model.focus = Field::Email;
        return vec![LoginCommand::CheckServer {
            site: model.server.trim().to_owned(),
        }];
    }
    if let Some(empty) = model.first_empty() {
        if empty == model.focus || model.focus == Field::Password {
            model.focus = empty;
        } else {
            model.focus = model.focus.next();
        }
        return Vec::new();
    }
    if model.focus != Field::Password {
        model.focus = model.focus.next();
        return Vec::new();
    }
    sign_in(model)
}

/// Checks the server first when that has not been done for the current URL.
fn sign_in(model: &mut LoginModel) -> Vec<LoginCommand> {
    match &model.server_info {
        None => {
            model.stage = Stage::CheckingServer;
            model.submit_pending = true;
            vec![LoginCommand::CheckServer {
                site: model.server.trim().to_owned(),
            }]
        }
        Some(info) if !info.password_login => {
            model.error = Some(
                "this server does not allow password log-in: put an API key in a zuliprc \
                 (Settings → Account & privacy → API key)"
                    .to_owned(),
            );
            Vec::new()
        }
        Some(_) => {
            model.stage = Stage::SigningIn;
            vec![LoginCommand::FetchApiKey {
                site: model.server.trim().to_owned(),
                username: model.email.trim().to_owned(),
                password: model.password.clone(),
            }]
        }
    }
}

fn server_checked(
    model: &mut LoginModel,
    site: &str,
    result: Result<ServerInfo, String>,
) -> Vec<LoginCommand> {
    // An answer about a URL that has been edited since is stale.
    if model.stage != Stage::CheckingServer || site != model.server.trim() {
        return Vec::new();
    }
    model.stage = Stage::Editing;
    let submit = std::mem::take(&mut model.submit_pending);
    match result {
        Ok(info) => {
            model.server_info = Some(info);
            if submit && model.first_empty().is_none() {
                return sign_in(model);
            }
            if model.focus == Field::Server {
                model.focus = Field::Email;
            }
        }
        Err(err) => {
            model.error = Some(err);
            model.focus = Field::Server;
        }
    }
    Vec::new()
}

fn signed_in(model: &mut LoginModel, result: Result<Account, String>) -> Vec<LoginCommand> {
    if model.stage != Stage::SigningIn {
        return Vec::new();
    }
    match result {
        Ok(account) => {
            // The password has done its job; do not keep it in memory.
            model.password.clear();
            model.account = Some(account);
            model.stage = match &model.save_path {
                Some(path) => Stage::OfferSave { path: path.clone() },
                None => Stage::Done,
            };
        }
        Err(err) => {
            model.stage = Stage::Editing;
            model.error = Some(err);
            model.password.clear();
            model.focus = Field::Password;
        }
    }
    Vec::new()
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn typed(model: &mut LoginModel, text: &str) {
        for c in text.chars() {
            update_login(model, LoginMsg::Key(KeyInput::Char(c)));
        }
    }

    fn key(model: &mut LoginModel, key: KeyInput) -> Vec<LoginCommand> {
        update_login(model, LoginMsg::Key(key)).0
    }

    fn info(password_login: bool) -> ServerInfo {
        ServerInfo {
            realm_name: Some("Lear & Co.".into()),
            zulip_version: "10.0".into(),
            password_login,
        }
    }

    fn account() -> Account {
        Account {
            site: "https://chat.example.com".into(),
            email: "ana@example.com".into(),
            api_key: "KEY".into(),
        }
    }

    /// A form with every field filled and the server checked, focus on the password.
    fn filled() -> LoginModel {
        let mut model = LoginModel::new(Some("/home/ana/.zuliprc".into()));
        typed(&mut model, "chat.example.com");
        model.focus = Field::Email;
        typed(&mut model, "ana@example.com");
        model.focus = Field::Password;
        typed(&mut model, "secret");
        model.server_info = Some(info(true));
        model
    }

    #[test]
    fn typing_edits_the_focused_field_and_tab_moves_focus_both_ways() {
        let mut model = LoginModel::new(None);
        typed(&mut model, "chat.example.co");
        key(&mut model, KeyInput::Char('m'));
        assert_eq!(model.server, "chat.example.com");
        key(&mut model, KeyInput::Tab);
        assert_eq!(model.focus, Field::Email);
        typed(&mut model, "ana@x");
        key(&mut model, KeyInput::Backspace);
        assert_eq!(model.email, "ana@");
        key(&mut model, KeyInput::Down);
        assert_eq!(model.focus, Field::Password);
        key(&mut model, KeyInput::Tab);
        assert_eq!(model.focus, Field::Server);
        key(&mut model, KeyInput::BackTab);
        assert_eq!(model.focus, Field::Password);
        key(&mut model, KeyInput::Up);
        assert_eq!(model.focus, Field::Email);
    }

    #[test]
    fn enter_on_the_server_checks_it_and_an_answer_moves_on_to_the_email() {
        let mut model = LoginModel::new(None);
        typed(&mut model, " chat.example.com ");
        let commands = key(&mut model, KeyInput::Enter);
        assert_eq!(
            commands,
            vec![LoginCommand::CheckServer {
                site: "chat.example.com".into()
            }]
        );
        assert_eq!(model.stage, Stage::CheckingServer);
        assert!(model.busy());
        // Typing goes on in the email field while the server is checked.
        assert_eq!(model.focus, Field::Email);
        typed(&mut model, "ana@example.com");
        assert_eq!(model.stage, Stage::CheckingServer);

        let (commands, redraw) = update_login(
            &mut model,
            LoginMsg::ServerChecked {
                site: "chat.example.com".into(),
                result: Ok(info(true)),
            },
        );
        assert!(commands.is_empty() && redraw);
        assert_eq!(model.stage, Stage::Editing);
        assert_eq!(model.focus, Field::Email);
        assert_eq!(model.email, "ana@example.com");
        assert_eq!(model.server_info, Some(info(true)));
    }

    #[test]
    fn enter_on_a_complete_form_during_the_check_signs_in_when_it_answers() {
        let mut model = LoginModel::new(None);
        typed(&mut model, "chat.example.com");
        key(&mut model, KeyInput::Enter);
        // Typed ahead: email, Enter, password, Enter, all before the server answered.
        typed(&mut model, "ana@example.com");
        key(&mut model, KeyInput::Enter);
        assert_eq!(model.focus, Field::Password);
        typed(&mut model, "secret");
        assert!(key(&mut model, KeyInput::Enter).is_empty());
        assert!(model.submit_pending);
        let (commands, _) = update_login(
            &mut model,
            LoginMsg::ServerChecked {
                site: "chat.example.com".into(),
                result: Ok(info(true)),
            },
        );
        assert_eq!(
            commands,
            vec![LoginCommand::FetchApiKey {
                site: "chat.example.com".into(),
                username: "ana@example.com".into(),
                password: "secret".into(),
            }]
        );
        assert!(!model.submit_pending);
    }

    #[test]
    fn a_complete_form_is_not_sent_until_enter_is_pressed() {
        let mut model = LoginModel::new(None);
        typed(&mut model, "chat.example.com");
        key(&mut model, KeyInput::Enter);
        typed(&mut model, "ana@example.com");
        key(&mut model, KeyInput::Tab);
        // Half-way through the password when the server answers.
        typed(&mut model, "sec");
        let (commands, _) = update_login(
            &mut model,
            LoginMsg::ServerChecked {
                site: "chat.example.com".into(),
                result: Ok(info(true)),
            },
        );
        assert!(commands.is_empty());
        assert_eq!(model.stage, Stage::Editing);
    }

    #[test]
    fn an_empty_server_is_refused_without_a_request() {
        let mut model = LoginModel::new(None);
        assert!(key(&mut model, KeyInput::Enter).is_empty());
        assert!(model.error.as_deref().unwrap().contains("server's address"));
        assert_eq!(model.stage, Stage::Editing);
    }

    #[test]
    fn a_server_that_cannot_be_reached_is_one_line_and_focus_returns_to_it() {
        let mut model = LoginModel::new(None);
        typed(&mut model, "nowhere.invalid");
        model.focus = Field::Email;
        typed(&mut model, "ana@example.com");
        model.focus = Field::Password;
        typed(&mut model, "pw");
        assert_eq!(
            key(&mut model, KeyInput::Enter),
            vec![LoginCommand::CheckServer {
                site: "nowhere.invalid".into()
            }]
        );
        update_login(
            &mut model,
            LoginMsg::ServerChecked {
                site: "nowhere.invalid".into(),
                result: Err("cannot reach https://nowhere.invalid: dns error".into()),
            },
        );
        assert_eq!(model.stage, Stage::Editing);
        assert_eq!(model.focus, Field::Server);
        assert_eq!(
            model.error.as_deref(),
            Some("cannot reach https://nowhere.invalid: dns error")
        );
        // Typing again clears nothing but the next Enter clears the error.
        typed(&mut model, "x");
        key(&mut model, KeyInput::Enter);
        assert_eq!(model.error, None);
    }

    #[test]
    fn a_stale_server_answer_is_ignored() {
        let mut model = LoginModel::new(None);
        typed(&mut model, "old.example.com");
        key(&mut model, KeyInput::Enter);
        model.focus = Field::Server;
        key(&mut model, KeyInput::Backspace);
        assert_eq!(
            model.stage,
            Stage::Editing,
            "editing the server abandons the check"
        );
        update_login(
            &mut model,
            LoginMsg::ServerChecked {
                site: "old.example.com".into(),
                result: Ok(info(true)),
            },
        );
        assert_eq!(model.server_info, None);
        assert_eq!(model.stage, Stage::Editing);
    }

    #[test]
    fn editing_the_server_forgets_what_was_learnt_about_it() {
        let mut model = filled();
        model.focus = Field::Server;
        key(&mut model, KeyInput::Backspace);
        assert_eq!(model.server_info, None);
        // Editing another field keeps it.
        let mut model = filled();
        key(&mut model, KeyInput::Backspace);
        assert!(model.server_info.is_some());
    }

    #[test]
    fn enter_moves_to_the_next_empty_field_before_signing_in() {
        let mut model = LoginModel::new(None);
        typed(&mut model, "chat.example.com");
        model.server_info = Some(info(true));
        key(&mut model, KeyInput::Enter);
        assert_eq!(model.focus, Field::Email);
        typed(&mut model, "ana@example.com");
        assert!(key(&mut model, KeyInput::Enter).is_empty());
        assert_eq!(model.focus, Field::Password);
        // Enter on an empty password stays there.
        assert!(key(&mut model, KeyInput::Enter).is_empty());
        assert_eq!(model.focus, Field::Password);
    }

    #[test]
    fn enter_on_a_full_form_checks_an_unchecked_server_then_signs_in() {
        let mut model = filled();
        model.server_info = None;
        assert_eq!(
            key(&mut model, KeyInput::Enter),
            vec![LoginCommand::CheckServer {
                site: "chat.example.com".into()
            }]
        );
        let (commands, _) = update_login(
            &mut model,
            LoginMsg::ServerChecked {
                site: "chat.example.com".into(),
                result: Ok(info(true)),
            },
        );
        assert_eq!(
            commands,
            vec![LoginCommand::FetchApiKey {
                site: "chat.example.com".into(),
                username: "ana@example.com".into(),
                password: "secret".into(),
            }]
        );
        assert_eq!(model.stage, Stage::SigningIn);
    }

    #[test]
    fn a_server_without_password_log_in_says_so() {
        let mut model = filled();
        model.server_info = Some(info(false));
        assert!(key(&mut model, KeyInput::Enter).is_empty());
        assert!(
            model
                .error
                .as_deref()
                .unwrap()
                .contains("does not allow password")
        );
        assert_eq!(model.stage, Stage::Editing);
    }

    #[test]
    fn signing_in_offers_to_save_and_forgets_the_password() {
        let mut model = filled();
        key(&mut model, KeyInput::Enter);
        update_login(&mut model, LoginMsg::SignedIn(Ok(account())));
        assert_eq!(
            model.stage,
            Stage::OfferSave {
                path: "/home/ana/.zuliprc".into()
            }
        );
        assert_eq!(model.password, "");
        assert_eq!(model.account, Some(account()));
        assert_eq!(
            key(&mut model, KeyInput::Char('y')),
            vec![LoginCommand::SaveZuliprc {
                path: "/home/ana/.zuliprc".into()
            }]
        );
        assert_eq!(model.stage, Stage::Saving);
        update_login(&mut model, LoginMsg::Saved(Ok(())));
        assert_eq!(model.stage, Stage::Done);
        assert_eq!(model.error, None);
    }

    #[test]
    fn declining_to_save_finishes_without_writing() {
        for decline in [KeyInput::Char('n'), KeyInput::Esc] {
            let mut model = filled();
            key(&mut model, KeyInput::Enter);
            update_login(&mut model, LoginMsg::SignedIn(Ok(account())));
            assert!(key(&mut model, decline).is_empty());
            assert_eq!(model.stage, Stage::Done);
            assert!(!model.cancelled);
        }
    }

    #[test]
    fn without_a_save_path_signing_in_finishes_at_once() {
        let mut model = filled();
        model.save_path = None;
        key(&mut model, KeyInput::Enter);
        update_login(&mut model, LoginMsg::SignedIn(Ok(account())));
        assert_eq!(model.stage, Stage::Done);
    }

    #[test]
    fn a_failed_save_is_reported_but_the_session_goes_on() {
        let mut model = filled();
        key(&mut model, KeyInput::Enter);
        update_login(&mut model, LoginMsg::SignedIn(Ok(account())));
        key(&mut model, KeyInput::Enter);
        update_login(
            &mut model,
            LoginMsg::Saved(Err("cannot write /x: File exists".into())),
        );
        assert_eq!(model.stage, Stage::Done);
        assert_eq!(
            model.error.as_deref(),
            Some("not saved: cannot write /x: File exists")
        );
    }

    #[test]
    fn a_wrong_password_is_shown_and_the_password_cleared_for_a_retry() {
        let mut model = filled();
        key(&mut model, KeyInput::Enter);
        update_login(
            &mut model,
            LoginMsg::SignedIn(Err("Your username or password is incorrect".into())),
        );
        assert_eq!(model.stage, Stage::Editing);
        assert_eq!(model.focus, Field::Password);
        assert_eq!(model.password, "");
        assert_eq!(
            model.error.as_deref(),
            Some("Your username or password is incorrect")
        );
        assert_eq!(model.account, None);
    }

    #[test]
    fn late_answers_in_the_wrong_stage_change_nothing() {
        let mut model = filled();
        let before = model.clone();
        let (commands, redraw) = update_login(&mut model, LoginMsg::SignedIn(Ok(account())));
        assert!(commands.is_empty() && !redraw);
        let (_, redraw) = update_login(&mut model, LoginMsg::Saved(Ok(())));
        assert!(!redraw);
        assert_eq!(model, before);
    }

    #[test]
    fn esc_and_ctrl_c_leave_the_form() {
        let mut model = LoginModel::new(None);
        key(&mut model, KeyInput::Esc);
        assert!(model.cancelled);
        // Ctrl-C works even while a request runs.
        let mut model = filled();
        key(&mut model, KeyInput::Enter);
        assert!(model.busy());
        key(&mut model, KeyInput::CtrlC);
        assert!(model.cancelled);
    }

    #[test]
    fn the_account_never_shows_its_key_in_debug_output() {
        let text = format!("{:?}", account());
        assert!(
            text.contains("ana@example.com") && !text.contains("KEY"),
            "{text}"
        );
    }

    #[test]
    fn resize_redraws_without_changing_anything() {
        let mut model = filled();
        let before = model.clone();
        assert_eq!(
            update_login(&mut model, LoginMsg::Resize),
            (Vec::new(), true)
        );
        assert_eq!(model, before);
    }
}
