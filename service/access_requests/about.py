"""The part of an access request that is the same for every citizen (GDPR article 15(1)
a-h): why fasthold holds the data, what kinds, who receives them, for how long, where they
came from, and the citizen's rights. Danish: it is handed to the citizen."""

from __future__ import annotations

from service.access_requests.report_models import AccessAboutOut
from service.config import RetentionConfig


def about_processing(municipality: str, retention: RetentionConfig) -> list[AccessAboutOut]:
    """The article's general information, with the municipality's name and its period."""
    kept = (f"Når sagen er afsluttet, slettes personoplysningerne {retention.erase_after_days} "
            "dage efter afslutningen (sager uden for målgruppen: så længe efter den sidste "
            "ændring). Tilbage bliver kun det, kommunens opgørelser tæller: datoer, afgørelsen, "
            "mødernes tid og sted, indsatser og udfaldet – uden CPR-nummer, navn eller "
            "helbredsoplysninger." if retention.enabled else
            "Kommunen har endnu ikke fastsat, hvor længe oplysningerne gemmes efter sagens "
            "afslutning; indtil da slettes de ikke automatisk.")
    return [
        AccessAboutOut(heading="Formål", text=(
            f"{municipality}s jobcenter bruger fasthold til opfølgning på sygedagpengesager "
            "efter sygedagpengeloven: at holde det første opfølgningsmøde – helst på "
            "arbejdspladsen – og de følgende opfølgninger, så du kan fastholdes i dit job.")),
        AccessAboutOut(heading="Oplysninger", text=(
            "CPR-nummer (krypteret), navn og kontaktoplysninger, din arbejdsgiver og "
            "arbejdsplads, fraværet og oplysninger om dit helbred, som er nødvendige for "
            "opfølgningen (diagnosegruppe, alvorlig sygdom, forventet varighed), jobcentrets "
            "afgørelser, møder, aftaler og indsatser, og de beskeder, der er sendt om sagen.")),
        AccessAboutOut(heading="Modtagere", text=(
            "Jobcentrets medarbejdere med behov for at kende sagen. Din arbejdsgiver får "
            "mødetider, sted og dit navn, aldrig helbredsoplysninger eller CPR-nummer. "
            "Konsulenternes Slack får kun sagsnummer og opgaver, aldrig helbredsoplysninger.")),
        AccessAboutOut(heading="Opbevaring", text=kept),
        AccessAboutOut(heading="Hvor oplysningerne kommer fra", text=(
            "Fra sygedagpengesagen i kommunens sagssystem (ydelseskontoret), fra dig, fra din "
            "arbejdsgiver og fra jobcentrets medarbejdere.")),
        AccessAboutOut(heading="Dine rettigheder", text=(
            "Du kan bede om at få urigtige oplysninger rettet og i visse tilfælde slettet "
            "eller begrænset, og du kan gøre indsigelse mod behandlingen. Du kan klage til "
            "Datatilsynet, Carl Jacobsens Vej 35, 2500 Valby, www.datatilsynet.dk.")),
        AccessAboutOut(heading="Opslag i sagen", text=(
            "Listen over opslag viser hvornår, af hvilken rolle og hvad der blev gjort. "
            "Hvilken medarbejder der gjorde det, udleveres efter kommunens vurdering.")),
    ]
