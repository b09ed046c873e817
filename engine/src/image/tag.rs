//! `POST /images/{name}/tag?repo=&tag=` (`docker tag`): points a validated `REPO:TAG` at the
//! image `name` names, in `repositories.json` as dockerd's reference store writes it, and
//! records the tag time; the `tag` event.

use crate::error::Result;
use crate::events::{self, Event, EventType};
use crate::image::reference::{set_tag, Tagged};
use crate::root::Root;

/// Tags the image `source` as `target` (`REPO[:TAG]`); the familiar `REPO:TAG` written.
pub fn tag(root: &Root, source: &str, target: &str) -> Result<String> {
    let tagged = Tagged::parse(target)?;
    let store = root.load()?;
    let img = crate::image::find(&store, source)?;
    set_tag(root, &tagged, &img.id)?;
    let name = tagged.to_string();
    let id = img.id.to_string();
    events::record(
        root,
        &Event::now(EventType::Image, "tag", &id, &[("name", &name)]),
    );
    Ok(name)
}
